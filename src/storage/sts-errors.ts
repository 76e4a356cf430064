// Turns an error of getting credentials (STS AssumeRole / AssumeRoleWithWebIdentity, the token
// file, the default chain) into the connector's hierarchy with a message that says what to fix.
// radosgw's STS gateway names every error "Unknown": the HTTP status decides there.

import { ConfigError, ConnectorError, SystemError, TransientError } from '../errors.js';
import { errorFacts, isServerFault, isThrottling, technicalDetail } from './error-facts.js';
import { capitalized, networkError } from './s3-errors.js';

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
      '(the service account\'s unique ID) and accounts.google.com:oaud (the audience the token was requested for); for another issuer, ' +
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

/** Classifies an error of obtaining role credentials; ConnectorErrors pass through unchanged. */
export function classifyStsError(err: unknown, ctx: StsErrorContext): ConnectorError {
  if (err instanceof ConnectorError) return err;
  const f = errorFacts(err);
  const detail = technicalDetail(f);
  const opts = { cause: err, internal: `${ctx.operation} ${ctx.roleArn}: ${f.name ?? 'Error'}${detail}` };
  const config = (message: string): ConfigError => new ConfigError(message + detail, opts);
  const op = ctx.operation;

  const network = networkError(f, where(ctx), ctx.stsEndpoint ? 'AWS_ENDPOINT_URL_STS' : 's3_bucket_region and the network', err);
  if (network) return network;
  if (f.name === 'CredentialsProviderError') {
    return config(
      `${op} needs base credentials in the connector's environment, and none were found (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, AWS_PROFILE, the shared config files, a container or instance role). ` +
        'Give the connector an identity that the role trusts',
    );
  }
  if (isThrottling(f)) return new TransientError(`${capitalized(where(ctx))} is throttling ${op} of ${ctx.roleArn}${detail}. Retry later.`, opts);
  if (isServerFault(f)) return new TransientError(`${capitalized(where(ctx))} failed ${op} of ${ctx.roleArn} with a server error${detail}. Retry later.`, opts);

  switch (f.code) {
    case 'AccessDenied':
    case 'AccessDeniedException':
      return config(denied(ctx));
    case 'NoSuchEntity':
    case 'NoSuchEntityException':
    case 'NotFound':
      return config(`${op} failed: the role ${ctx.roleArn} does not exist. Check role_arn`);
    case 'InvalidClientTokenId':
    case 'SignatureDoesNotMatch':
    case 'InvalidAccessKeyId':
    case 'IncompleteSignature':
      return config(`${op} of ${ctx.roleArn} failed: the base credentials in the connector's environment are not valid. Check the AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or profile) the connector runs with`);
    case 'ExpiredToken':
    case 'ExpiredTokenException':
      return config(
        op === 'AssumeRoleWithWebIdentity'
          ? `${op} of ${ctx.roleArn} failed: the token in ${ctx.tokenFile} has expired. The process that writes that file must renew it`
          : `${op} of ${ctx.roleArn} failed: the session token of the base credentials in the environment has expired. Renew them`,
      );
    case 'InvalidIdentityToken':
    case 'InvalidIdentityTokenException':
      return config(
        `${op} of ${ctx.roleArn} failed: the token in ${ctx.tokenFile} was rejected as invalid (unknown issuer, bad signature or malformed). ` +
          "Check that the file holds an OpenID Connect ID token (a JWT) of an issuer AWS trusts: Google's (accounts.google.com) is built in; " +
          'any other issuer must be registered as an IAM OIDC identity provider',
      );
    case 'IDPRejectedClaim':
    case 'IDPRejectedClaimException':
      return config(
        `${op} of ${ctx.roleArn} failed: the identity provider rejected the token's claims. Check the token in ${ctx.tokenFile} ` +
          '(its audience and subject) and the settings of the identity provider that issued it',
      );
    case 'IDPCommunicationError':
    case 'IDPCommunicationErrorException':
      return new TransientError(`${op} of ${ctx.roleArn} failed: STS could not reach the token's identity provider${detail}. Retry later.`, opts);
    case 'RegionDisabledException':
      return config(`${op} failed: STS is not activated in region ${ctx.region}. Activate it in the IAM account settings, or set AWS_ENDPOINT_URL_STS to an active regional endpoint`);
    case 'MalformedPolicyDocument':
    case 'MalformedPolicyDocumentException':
    case 'PackedPolicyTooLarge':
    case 'PackedPolicyTooLargeException':
      return new SystemError(
        `${op} of ${ctx.roleArn} failed${detail}: STS refused the session's policies or tags as malformed or too large. The connector sends none itself; ` +
          'session tags passed by the identity provider can be too many. Retry, and report it if it persists.',
        opts,
      );
    case 'ValidationError':
    case 'InvalidParameterValue':
    case 'InvalidInput':
      return config(`${op} of ${ctx.roleArn} was refused as invalid. Check role_arn${op === 'AssumeRole' ? ', external_id' : ''} and role_session_name`);
  }
  switch (f.status) {
    case 403:
      return config(denied(ctx));
    case 404:
      return config(`${op} failed: the role ${ctx.roleArn} does not exist at ${where(ctx)}. Check role_arn`);
    case 400:
      return config(
        op === 'AssumeRoleWithWebIdentity'
          ? `${op} of ${ctx.roleArn} was refused: the token in ${ctx.tokenFile} is not accepted (expired, bad signature, an issuer other than Google not registered as an IAM OIDC identity provider, ` +
            "or an audience the provider does not list), or the role's trust policy does not allow it (its Federated principal, and its conditions on " +
            'accounts.google.com:sub and :oaud for Google, <issuer>:sub and :aud otherwise)'
          : `${op} of ${ctx.roleArn} was refused as invalid. Check role_arn, external_id and role_session_name`,
      );
  }
  return new SystemError(`${op} of ${ctx.roleArn} failed unexpectedly${detail || `: ${err instanceof Error ? err.message : String(err)}`}.`, opts);
}

/** An error of the SDK's default credential chain (default_chain authentication). */
export function classifyDefaultChainError(err: unknown): ConnectorError {
  if (err instanceof ConnectorError) return err;
  const f = errorFacts(err);
  if (f.name === 'CredentialsProviderError') {
    return new ConfigError(
      'No AWS credentials were found by the default chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, AWS_PROFILE and the shared config files, ' +
        'a web identity token, the container or instance role). Provide one of them, or choose another authentication in the config.',
      { cause: err, internal: f.serverMessage },
    );
  }
  const network = networkError(f, 'the credential source of the default chain', 'the environment\'s credential settings', err);
  return network ?? new SystemError(`Getting credentials from the default chain failed${technicalDetail(f) || `: ${String(err)}`}.`, { cause: err });
}
