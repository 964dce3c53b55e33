import { describe, expect, it } from 'vitest';
import { namedResources, templateText } from './resource-names.js';

const resources = {
  Function: { Type: 'AWS::Lambda::Function', Properties: { FunctionName: 'sovereign-dev-acme', Role: { 'Fn::GetAtt': ['RuntimeRole', 'Arn'] } } },
  RuntimeRole: { Type: 'AWS::IAM::Role', Properties: { RoleName: { 'Fn::Sub': '${Function}-runtime' } } },
  InvokePermission: { Type: 'AWS::Lambda::Permission', Properties: { FunctionName: { Ref: 'Function' } } },
  Key: { Type: 'AWS::KMS::Key', Properties: {} },
  Alias: { Type: 'AWS::KMS::Alias', Properties: { AliasName: { 'Fn::Join': ['/', ['alias', { Ref: 'Function' }]] } } },
  Loop: { Type: 'AWS::Logs::LogGroup', Properties: { LogGroupName: { Ref: 'Loop' } } },
};

describe('resource names of a rendered stack', () => {
  it('resolves Ref, Fn::GetAtt, Fn::Sub and Fn::Join within the template, naming the resource it went through', () => {
    expect(namedResources(resources)).toEqual([
      { logicalId: 'Function', type: 'AWS::Lambda::Function', name: 'sovereign-dev-acme' },
      { logicalId: 'RuntimeRole', type: 'AWS::IAM::Role', name: 'sovereign-dev-acme-runtime', via: 'Function' },
      { logicalId: 'InvokePermission', type: 'AWS::Lambda::Permission', name: 'sovereign-dev-acme', via: 'Function' },
      { logicalId: 'Key', type: 'AWS::KMS::Key', name: '' },
      { logicalId: 'Alias', type: 'AWS::KMS::Alias', name: 'alias/sovereign-dev-acme', via: 'Function' },
      // A cycle ends at the logical id instead of recursing.
      { logicalId: 'Loop', type: 'AWS::Logs::LogGroup', name: 'Loop' },
    ]);
  });

  it('keeps pseudo parameters as placeholders and never shows an intrinsic function as JSON', () => {
    expect(templateText({ Ref: 'AWS::Region' }, resources).text).toBe('${AWS::Region}');
    expect(templateText({ 'Fn::GetAtt': ['RuntimeRole', 'Arn'] }, resources)).toEqual({ text: 'Arn of sovereign-dev-acme-runtime', via: 'RuntimeRole' });
    expect(templateText({ Ref: 'Missing' }, resources).text).toBe('Missing');
    for (const value of Object.values(resources)) expect(templateText(Object.values(value.Properties)[0], resources).text).not.toMatch(/\{"(Ref|Fn::)/);
  });
});
