import { formatTable } from '../../output/output.js';
import { defineCommand } from '../define.js';

const percent = (share: number) => `${Math.round(share * 100)} %`;

export default defineCommand({
  examples: ['sovereign cells list', 'sovereign cells list --json | jq ".cells[] | {name, utilisation}"'],
  help: 'Stacks and reserved concurrency are counted in each cell (every stack in its region counts);\nHTTP APIs are counted from the registry. Placement keeps every quota at or below 80 %.',
  async run(ctx) {
    const { cells, home } = await ctx.target().cells();
    ctx.out.result({ cells, home }, () => {
      const rows = cells.map((c) => ({
        cell: c.name,
        account: c.account,
        region: c.region,
        residency: c.residency ?? '-',
        tenants: String(c.tenants.length),
        stacks: `${c.used.stacks}/${c.capacity.stacks} (${percent(c.utilisation.stacks)})`,
        'http apis': `${c.used.httpApis}/${c.capacity.httpApis} (${percent(c.utilisation.httpApis)})`,
        concurrency: `${c.used.concurrency}/${c.capacity.concurrency} (${percent(c.utilisation.concurrency)})`,
      }));
      const lines = [formatTable(rows, ['cell', 'account', 'region', 'residency', 'tenants', 'stacks', 'http apis', 'concurrency'])];
      const counted = cells[0]?.countedFrom;
      if (counted) lines.push(`Counted: stacks by ${counted.stacks}, HTTP APIs by ${counted.httpApis}, concurrency by ${counted.concurrency}.`);
      if (home.length > 0) lines.push(`${home.length} tenant(s) in the home account and region, in no cell: ${home.slice(0, 10).join(', ')}${home.length > 10 ? ', …' : ''}`);
      return lines.join('\n');
    });
  },
});
