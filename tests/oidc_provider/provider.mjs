// The OpenID provider of the single sign-on tests: the certified oidc-provider with one confidential client,
// people and their groups read from a JSON file at every look-up (so a test changes someone's groups or removes
// them by rewriting it), and the package's own sign-in and consent pages.
import { readFileSync } from 'node:fs';
import Provider from 'oidc-provider';

const { ISSUER, PORT, ACCOUNTS_FILE, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, POST_LOGOUT_URI } = process.env;

function accounts() {
  return JSON.parse(readFileSync(ACCOUNTS_FILE, 'utf8'));
}

const provider = new Provider(ISSUER, {
  clients: [
    {
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      redirect_uris: [REDIRECT_URI],
      post_logout_redirect_uris: [POST_LOGOUT_URI],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  pkce: { required: () => true },
  scopes: ['openid', 'offline_access', 'profile', 'groups'],
  claims: { openid: ['sub'], profile: ['preferred_username', 'name'], groups: ['groups'] },
  // The groups go into the ID token itself, as most providers put them when the scope is asked for.
  conformIdTokenClaims: false,
  // Every sign-in of this client gets a refresh token: Proxgate re-checks the person with it.
  issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
  features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
  async findAccount(ctx, id) {
    const person = accounts()[id];
    if (!person) return undefined;
    return {
      accountId: id,
      async claims() {
        return { sub: id, preferred_username: id, name: person.name || id, groups: person.groups };
      },
    };
  },
});

provider.listen(Number(PORT), '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${ISSUER}`);
});
