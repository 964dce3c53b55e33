/**
 * A consistent, paginated Scan of one table behind any DynamoDB-compatible endpoint (the local
 * target's dynalite store, for its data export). The SDK client lives here, with the aws target's
 * other clients; callers get pages of plain items.
 */
export interface EndpointScanner {
  /** One page from `start` on, or undefined when the table does not exist. */
  page(table: string, start: Record<string, unknown> | undefined): Promise<{ Items?: Array<Record<string, unknown>>; LastEvaluatedKey?: Record<string, unknown> } | undefined>;
  destroy(): void;
}

export async function openEndpointScanner(endpoint: string, region: string): Promise<EndpointScanner> {
  const { DynamoDBClient, ScanCommand } = await import('@aws-sdk/client-dynamodb');
  const dynamo = new DynamoDBClient({ endpoint, region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  return {
    async page(table, start) {
      try {
        return (await dynamo.send(new ScanCommand({ TableName: table, ConsistentRead: true, ...(start ? { ExclusiveStartKey: start as never } : {}) }))) as { Items?: Array<Record<string, unknown>>; LastEvaluatedKey?: Record<string, unknown> };
      } catch (error) {
        if ((error as { name?: string }).name === 'ResourceNotFoundException') return undefined;
        throw error;
      }
    },
    destroy: () => dynamo.destroy(),
  };
}
