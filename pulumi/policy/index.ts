/**
 * The lakehouse policy pack: `npm exec -- pulumi preview --stack <stack> --policy-pack pulumi/policy`.
 * The rules live in rules.ts, where the unit tests call them directly.
 */
import { PolicyPack } from '@pulumi/policy';
import { LAKEHOUSE_POLICIES } from './rules.js';

new PolicyPack('lakehouse-security', { policies: [...LAKEHOUSE_POLICIES] });
