// Turns an error of getting credentials (STS AssumeRole / AssumeRoleWithWebIdentity, the token
// file, the default chain) into the connector's hierarchy with a message that says what to fix,
// by ordered rule tables (STS_RULES, DEFAULT_CHAIN_RULES; see error-rules.ts). radosgw's STS
// gateway names every error "Unknown": the HTTP status decides there.

import { ConfigError, ConnectorError, SystemError, TransientError } from '../errors.js';
import { errorFacts, technicalDetail } from './error-facts.js';
import { applyRules, capitalized, codeIs, NETWORK_RULES, serverFaultRule, throttlingRule, type ErrorRule, type Situation } from './error-rules.js';

export interface StsErrorContext {
  operation: 'AssumeRole' | 'AssumeRoleWithWebIdentity';
  roleArn: string;
  region: string;
  /** AWS_ENDPOINT_URL_STS, when set. */
  stsEndpoint: string | undefined;
  /** Whether the config gives an external id (AssumeRole only). */
  hasExternalId?: boolean;
  tokenFile?: string;
}

function where(ctx: StsErrorContext): string {
  return ctx.stsEndpoint ? `the STS endpoint ${ctx.stsEndpoint}` : `AWS STS in region ${ctx.region}`;
}

function denied(ctx: StsErrorContext): string {
  if (ctx.operation === 'AssumeRoleWithWebIdentity') {
    // Google (accounts.google.com) is built into AWS: no provider is registered for it, and its
    // condition keys are accounts.google.com:sub and :oaud (docs/setup.md, option B).
    return (
      `AssumeRoleWithWebIdentity of ${ctx.roleArn} was denied. The candidates are: (1) the role's trust policy does not allow the issuer ` +
      `of the token in ${ctx.tokenFile} as a Federated principal with sts:AssumeRoleWithWebIdentity ("accounts.google.com" for a Google token, ` +
      "else the ARN of the issuer's IAM OIDC identity provider); (2) its conditions do not match the token: for Google, accounts.google.com:sub " +
      "(the service account's unique ID) and accounts.google.com:oaud (the audience the token was requested for); for another issuer, " +
      '<issuer>:sub and <issuer>:aud; (3) for an issuer other than Google, it is not registered as an IAM OIDC identity provider, ' +
      "the token's audience is not among the provider's audiences, or its thumbprint is wrong"
    );
  }
  const externalId = ctx.hasExternalId
    ? 'the external_id does not match the sts:ExternalId condition of the trust policy'
    : 'the trust policy requires an external id (sts:ExternalId) and none is configured: set external_id';
  return (
    `AssumeRole of ${ctx.roleArn} was denied. The candidates are: (1) the role's trust policy does not allow the connector's base identity ` +
    `(the credentials in its environment) to call sts:AssumeRole; (2) ${externalId}; (3) the base identity's own policy lacks sts:AssumeRole on the role; ` +
    '(4) the base credentials are wrong (S3-compatible STS gateways report bad keys this way too)'
  );
}

/** What the STS rules read. */
interface StsSituation extends Situation {
  ctx: StsErrorContext;
  op: StsErrorContext['operation'];
  role: string;
}

/** A config error whose message ends with the technical detail. */
function configRule(
  name: string,
  match: { codes?: string[]; matches: (s: StsSituation) => boolean },
  message: (s: StsSituation) => string,
): ErrorRule<StsSituation> {
  return { name, ...match, class: ConfigError, message: (s) => message(s) + s.detail };
}

/** The STS classification table, in order: the first rule that matches decides. */
export const STS_RULES: readonly ErrorRule<StsSituation>[] = [
  ...NETWORK_RULES,
  configRule(
    'no base credentials',
    { matches: (s) => s.f.name === 'CredentialsProviderError' },
    (s) =>
      `${s.op} needs base credentials in the connector's environment, and none were found (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, AWS_PROFILE, the shared config files, a container or instance role). ` +
      'Give the connector an identity that the role trusts',
  ),
  throttlingRule((s) => `${capitalized(s.where)} is throttling ${s.op} of ${s.role}${s.detail}. Retry later.`),
  serverFaultRule((s) => `${capitalized(s.where)} failed ${s.op} of ${s.role} with a server error${s.detail}. Retry later.`),
  configRule('access denied', codeIs('AccessDenied', 'AccessDeniedException'), (s) => denied(s.ctx)),
  configRule(
    'no such role',
    codeIs('NoSuchEntity', 'NoSuchEntityException', 'NotFound'),
    (s) => `${s.op} failed: the role ${s.role} does not exist. Check role_arn`,
  ),
  configRule(
    'invalid base credentials',
    codeIs('InvalidClientTokenId', 'SignatureDoesNotMatch', 'InvalidAccessKeyId', 'IncompleteSignature'),
    (s) =>
      `${s.op} of ${s.role} failed: the base credentials in the connector's environment are not valid. Check the AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or profile) the connector runs with`,
  ),
  configRule('expired token', codeIs('ExpiredToken', 'ExpiredTokenException'), (s) =>
    s.op === 'AssumeRoleWithWebIdentity'
      ? `${s.op} of ${s.role} failed: the token in ${s.ctx.tokenFile} has expired. The process that writes that file must renew it`
      : `${s.op} of ${s.role} failed: the session token of the base credentials in the environment has expired. Renew them`,
  ),
  configRule(
    'invalid identity token',
    codeIs('InvalidIdentityToken', 'InvalidIdentityTokenException'),
    (s) =>
      `${s.op} of ${s.role} failed: the token in ${s.ctx.tokenFile} was rejected as invalid (unknown issuer, bad signature or malformed). ` +
      "Check that the file holds an OpenID Connect ID token (a JWT) of an issuer AWS trusts: Google's (accounts.google.com) is built in; " +
      'any other issuer must be registered as an IAM OIDC identity provider',
  ),
  configRule(
    'claims rejected',
    codeIs('IDPRejectedClaim', 'IDPRejectedClaimException'),
    (s) =>
      `${s.op} of ${s.role} failed: the identity provider rejected the token's claims. Check the token in ${s.ctx.tokenFile} ` +
      '(its audience and subject) and the settings of the identity provider that issued it',
  ),
  {
    name: 'identity provider unreachable',
    ...codeIs('IDPCommunicationError', 'IDPCommunicationErrorException'),
    class: TransientError,
    message: (s) => `${s.op} of ${s.role} failed: STS could not reach the token's identity provider${s.detail}. Retry later.`,
  },
  configRule(
    'STS region disabled',
    codeIs('RegionDisabledException'),
    (s) =>
      `${s.op} failed: STS is not activated in region ${s.ctx.region}. Activate it in the IAM account settings, or set AWS_ENDPOINT_URL_STS to an active regional endpoint`,
  ),
  {
    name: 'session policies refused',
    ...codeIs('MalformedPolicyDocument', 'MalformedPolicyDocumentException', 'PackedPolicyTooLarge', 'PackedPolicyTooLargeException'),
    class: SystemError,
    message: (s) =>
      `${s.op} of ${s.role} failed${s.detail}: STS refused the session's policies or tags as malformed or too large. The connector sends none itself; ` +
      'session tags passed by the identity provider can be too many. Retry, and report it if it persists.',
  },
  configRule(
    'refused as invalid',
    codeIs('ValidationError', 'InvalidParameterValue', 'InvalidInput'),
    (s) => `${s.op} of ${s.role} was refused as invalid. Check role_arn${s.op === 'AssumeRole' ? ', external_id' : ''} and role_session_name`,
  ),
  configRule('HTTP 403', { matches: (s) => s.f.status === 403 }, (s) => denied(s.ctx)),
  configRule(
    'HTTP 404',
    { matches: (s) => s.f.status === 404 },
    (s) => `${s.op} failed: the role ${s.role} does not exist at ${s.where}. Check role_arn`,
  ),
  configRule('HTTP 400', { matches: (s) => s.f.status === 400 }, (s) =>
    s.op === 'AssumeRoleWithWebIdentity'
      ? `${s.op} of ${s.role} was refused: the token in ${s.ctx.tokenFile} is not accepted (expired, bad signature, an issuer other than Google not registered as an IAM OIDC identity provider, ` +
        "or an audience the provider does not list), or the role's trust policy does not allow it (its Federated principal, and its conditions on " +
        'accounts.google.com:sub and :oaud for Google, <issuer>:sub and :aud otherwise)'
      : `${s.op} of ${s.role} was refused as invalid. Check role_arn, external_id and role_session_name`,
  ),
  {
    name: 'anything else',
    matches: () => true,
    class: SystemError,
    message: (s) => `${s.op} of ${s.role} failed unexpectedly${s.detail || `: ${s.err instanceof Error ? s.err.message : String(s.err)}`}.`,
  },
];

/** Classifies an error of obtaining role credentials (STS_RULES); ConnectorErrors pass through unchanged. */
export function classifyStsError(err: unknown, ctx: StsErrorContext): ConnectorError {
  if (err instanceof ConnectorError) return err;
  const f = errorFacts(err);
  const detail = technicalDetail(f);
  return applyRules(STS_RULES, {
    err,
    f,
    detail,
    where: where(ctx),
    setting: ctx.stsEndpoint ? 'AWS_ENDPOINT_URL_STS' : 's3_bucket_region and the network',
    internal: `${ctx.operation} ${ctx.roleArn}: ${f.name ?? 'Error'}${detail}`,
    ctx,
    op: ctx.operation,
    role: ctx.roleArn,
  });
}

/** The default chain's table (default_chain authentication): no credentials, the network, anything else. */
export const DEFAULT_CHAIN_RULES: readonly ErrorRule<Situation>[] = [
  {
    name: 'no credentials in the default chain',
    matches: (s) => s.f.name === 'CredentialsProviderError',
    class: ConfigError,
    message: () =>
      'No AWS credentials were found by the default chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, AWS_PROFILE and the shared config files, ' +
      'a web identity token, the container or instance role). Provide one of them, or choose another authentication in the config.',
    internal: (s) => s.f.serverMessage,
  },
  ...NETWORK_RULES,
  {
    name: 'anything else',
    matches: () => true,
    class: SystemError,
    message: (s) => `Getting credentials from the default chain failed${s.detail || `: ${String(s.err)}`}.`,
  },
];

/** An error of the SDK's default credential chain (DEFAULT_CHAIN_RULES). */
export function classifyDefaultChainError(err: unknown): ConnectorError {
  if (err instanceof ConnectorError) return err;
  const f = errorFacts(err);
  return applyRules(DEFAULT_CHAIN_RULES, {
    err,
    f,
    detail: technicalDetail(f),
    where: 'the credential source of the default chain',
    setting: "the environment's credential settings",
    internal: undefined,
  });
}
