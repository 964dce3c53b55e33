import { describe, expect, it } from 'vitest';
import { requestAccess } from './data-access.js';

const arn = { partition: 'aws', region: 'us-east-1', account: '000000000000' };
const table = (name: string) => `arn:aws:dynamodb:us-east-1:000000000000:table/${name}`;
const hashKeyOf = (name: string) => (name.startsWith('known') ? 'pk' : undefined);

describe('requestAccess', () => {
  it('gives a Query its partition key through ExpressionAttributeNames, and an index query the index resource', () => {
    const query = requestAccess('Query', { TableName: 'known', KeyConditionExpression: '#p = :v AND begins_with(sk, :s)', ExpressionAttributeNames: { '#p': 'pk' }, ExpressionAttributeValues: { ':v': { S: 'notes#1' }, ':s': { S: 'a' } } }, arn, hashKeyOf);
    expect(query.checks).toEqual([{ action: 'dynamodb:Query', resource: table('known'), context: { 'dynamodb:LeadingKeys': ['notes#1'] } }]);
    const reversed = requestAccess('Query', { TableName: 'known', KeyConditionExpression: ':v = pk', ExpressionAttributeValues: { ':v': { S: 'x#1' } } }, arn, hashKeyOf);
    expect(reversed.checks[0]!.context).toEqual({ 'dynamodb:LeadingKeys': ['x#1'] });
    const index = requestAccess('Query', { TableName: 'known', IndexName: 'byDate', KeyConditionExpression: 'd = :v', ExpressionAttributeValues: { ':v': { S: '1' } } }, arn, hashKeyOf);
    expect(index.checks[0]!.resource).toBe(`${table('known')}/index/byDate`);
    expect(index.checks[0]!.context['dynamodb:LeadingKeys']).toBeUndefined();
  });

  it('checks a transaction item by item with the item action, and a batch once per table with all its keys', () => {
    const transaction = requestAccess('TransactWriteItems', { TransactItems: [
      { Put: { TableName: 'known-a', Item: { pk: { S: 'a#1' } } } },
      { ConditionCheck: { TableName: 'known-b', Key: { pk: { S: 'b#1' } } } },
      { Update: { TableName: 'other', Key: { pk: { S: 'c#1' } } } },
    ] }, arn, hashKeyOf);
    expect(transaction.checks.map((c) => [c.action, c.resource, c.context['dynamodb:LeadingKeys']])).toEqual([
      ['dynamodb:PutItem', table('known-a'), ['a#1']],
      ['dynamodb:ConditionCheckItem', table('known-b'), ['b#1']],
      ['dynamodb:UpdateItem', table('other'), undefined],
    ]);
    expect(transaction.tables).toEqual(['known-a', 'known-b', 'other']);
    const batch = requestAccess('BatchWriteItem', { RequestItems: { known: [{ PutRequest: { Item: { pk: { S: 'a#1' } } } }, { DeleteRequest: { Key: { pk: { S: '_sovereign' } } } }] } }, arn, hashKeyOf);
    expect(batch.checks).toEqual([{ action: 'dynamodb:BatchWriteItem', resource: table('known'), context: { 'dynamodb:LeadingKeys': ['a#1', '_sovereign'] } }]);
  });

  it('names the PartiQL action and table of a statement, and asks about table/* for what names none', () => {
    expect(requestAccess('ExecuteStatement', { Statement: 'SELECT * FROM "known" WHERE pk = ?' }, arn, hashKeyOf).checks[0]).toMatchObject({ action: 'dynamodb:PartiQLSelect', resource: table('known') });
    expect(requestAccess('ExecuteStatement', { Statement: 'DELETE FROM known WHERE pk = ?' }, arn, hashKeyOf).checks[0]).toMatchObject({ action: 'dynamodb:PartiQLDelete' });
    expect(requestAccess('ListTables', {}, arn, hashKeyOf)).toEqual({ checks: [{ action: 'dynamodb:ListTables', resource: table('*'), context: {} }], tables: [] });
  });

  it('gives PutItem its attribute names and the request parameters IAM exposes', () => {
    const put = requestAccess('PutItem', { TableName: 'known', Item: { pk: { S: 'a#1' }, sk: { S: 'x' }, secret: { S: 'y' } }, ReturnValues: 'ALL_OLD' }, arn, hashKeyOf);
    expect(put.checks[0]!.context).toEqual({ 'dynamodb:LeadingKeys': ['a#1'], 'dynamodb:Attributes': ['pk', 'sk', 'secret'], 'dynamodb:ReturnValues': 'ALL_OLD' });
  });
});
