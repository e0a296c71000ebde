// A Node `oidc-provider` as the issue 14 comparison runs it (test-only, never
// part of the product or CI): one confidential client, the client credentials
// grant, access tokens as EdDSA-signed JWTs for one resource, the in-memory
// adapter (JWT access tokens are not stored). Listens on 127.0.0.1:$PORT.
import crypto from 'node:crypto';
import Provider from 'oidc-provider';

const port = Number(process.env.PORT || 0);
const key = crypto.generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' });
const resource = 'urn:sitetoken:bench';

const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [{
    client_id: 'bench',
    client_secret: 'bench-secret',
    grant_types: ['client_credentials'],
    redirect_uris: [],
    response_types: [],
    id_token_signed_response_alg: 'EdDSA', // the only key is Ed25519
  }],
  jwks: { keys: [{ ...key, alg: 'EdDSA', use: 'sig', kid: 'bench' }] },
  scopes: ['api'],
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => resource,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: 'api',
        audience: resource,
        accessTokenFormat: 'jwt',
        accessTokenTTL: 8 * 3600,
        jwt: { sign: { alg: 'EdDSA' } },
      }),
    },
  },
});
provider.listen(port, '127.0.0.1', () => console.log(`ready ${port}`));
