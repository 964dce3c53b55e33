/**
 * The names of a rendered stack's resources as an auditor reads them. A resource whose name is
 * an intrinsic function (`{"Ref": "Function"}` naming the function a permission applies to) is
 * shown by what it resolves to in the same template, with the logical id it refers to, never as
 * the function's JSON. Pure.
 */

/** One resource of the template as the report lists it. */
export interface NamedResource {
  logicalId: string;
  type: string;
  /** The physical name the template gives it (resolved), or '' when CloudFormation names it. */
  name: string;
  /** The logical id the name was resolved through (a `Ref` or `Fn::GetAtt` target), if any. */
  via?: string;
}

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown> }>;

/** The properties that name a resource (or, for a permission, the function it applies to), in order. */
const NAME_PROPERTIES = ['TableName', 'FunctionName', 'RoleName', 'LogGroupName', 'Name', 'StageName', 'AliasName'] as const;

function ownName(resources: Resources, logicalId: string, seen: Set<string>): { text: string; via?: string } {
  const properties = resources[logicalId]?.Properties ?? {};
  const key = NAME_PROPERTIES.find((k) => properties[k] !== undefined);
  return key === undefined ? { text: '' } : templateText(properties[key], resources, seen);
}

/**
 * Text for a template value: strings as they are; `Ref` to a resource as that resource's name when
 * the template gives one, else its logical id; `Fn::GetAtt` as `<attribute> of <resource>`;
 * `Fn::Sub` and `Fn::Join` with their parts resolved the same way. Anything else is JSON.
 */
export function templateText(value: unknown, resources: Resources, seen: Set<string> = new Set()): { text: string; via?: string } {
  if (typeof value === 'string') return { text: value };
  if (typeof value === 'number' || typeof value === 'boolean') return { text: String(value) };
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record);
    if (keys.length === 1 && typeof record.Ref === 'string') {
      const id = record.Ref;
      // A parameter or pseudo parameter (`AWS::Region`) stays a placeholder; a cycle stops at the id.
      if (!(id in resources) || seen.has(id)) return { text: id.startsWith('AWS::') ? `\${${id}}` : id };
      const resolved = ownName(resources, id, new Set([...seen, id]));
      return { text: resolved.text || id, via: id };
    }
    const getAtt = record['Fn::GetAtt'];
    if (keys.length === 1 && Array.isArray(getAtt) && getAtt.length === 2 && getAtt.every((p) => typeof p === 'string')) {
      const [id, attribute] = getAtt as [string, string];
      const resolved = id in resources && !seen.has(id) ? ownName(resources, id, new Set([...seen, id])).text : '';
      return { text: `${attribute} of ${resolved || id}`, via: id };
    }
    const subValue = record['Fn::Sub'];
    if (keys.length === 1 && typeof subValue === 'string') {
      let via: string | undefined;
      const text = subValue.replace(/\$\{([A-Za-z0-9:]+)\}/g, (whole, id: string) => {
        if (!(id in resources) || seen.has(id)) return whole;
        const resolved = ownName(resources, id, new Set([...seen, id])).text;
        if (!resolved) return whole;
        via ??= id;
        return resolved;
      });
      return via ? { text, via } : { text };
    }
    const join = record['Fn::Join'];
    if (keys.length === 1 && Array.isArray(join) && join.length === 2 && typeof join[0] === 'string' && Array.isArray(join[1])) {
      const parts = (join[1] as unknown[]).map((p) => templateText(p, resources, seen));
      const via = parts.find((p) => p.via)?.via;
      const text = parts.map((p) => p.text).join(join[0]);
      return via ? { text, via } : { text };
    }
  }
  return { text: JSON.stringify(value) ?? '' };
}

/** Every resource of the template with its name resolved. */
export function namedResources(resources: Resources): NamedResource[] {
  return Object.entries(resources).map(([logicalId, resource]) => {
    const { text, via } = ownName(resources, logicalId, new Set([logicalId]));
    return { logicalId, type: resource.Type, name: text, ...(via ? { via } : {}) };
  });
}
