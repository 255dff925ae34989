"""OpenID Connect with one provider: authorization code with PKCE, ID tokens checked, refresh, sign-out URL."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuthError
from joserfc import jwt
from joserfc.errors import BadSignatureError, JoseError
from joserfc.jwk import KeySet

from app.config import Settings, parse_role_map
from app.db.models import Role
from app.services.accounts.auth import same_secret
from app.services.errors import Unauthenticated

# Signatures made with the provider's own keys only: never "none", never the client secret (HS*).
ASYMMETRIC = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")


class SsoRefused(Unauthenticated):
    """The provider's answer is not accepted; `reason` is the audit's short word for why."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class SsoConfig:
    """The provider and how its groups become roles, from the settings."""

    issuer: str
    client_id: str
    client_secret: str
    groups_claim: str
    role_map: Mapping[str, Role]
    scopes: str
    name: str

    @classmethod
    def from_settings(cls, settings: Settings) -> SsoConfig | None:
        """The configuration, or None when single sign-on is off."""
        if not (settings.oidc_issuer and settings.oidc_client_id and settings.oidc_client_secret):
            return None
        return cls(
            issuer=settings.oidc_issuer,
            client_id=settings.oidc_client_id,
            client_secret=settings.oidc_client_secret.get_secret_value(),
            groups_claim=settings.oidc_groups_claim,
            role_map={group: Role(role) for group, role in parse_role_map(settings.oidc_role_map).items()},
            scopes=settings.oidc_scopes,
            name=settings.oidc_name or urlsplit(settings.oidc_issuer).hostname or settings.oidc_issuer,
        )


@dataclass(frozen=True)
class Attempt:
    """One sign-in under way: what the browser carries to the provider and back (kept in a sealed cookie)."""

    state: str
    nonce: str
    verifier: str


@dataclass(frozen=True)
class Identity:
    """A person as the provider vouched for them just now."""

    subject: str
    username: str
    groups: tuple[str, ...]
    role: Role | None
    refresh_token: str | None
    id_token: str
    # The groups PROXGATE_OIDC_ROLE_MAP names (kept first when a user's groups must be cut short).
    mapped: tuple[str, ...] = ()


def role_for(groups: tuple[str, ...], role_map: Mapping[str, Role]) -> Role | None:
    """The highest role any of the groups maps to; None when none does."""
    roles = [role_map[g] for g in groups if g in role_map]
    return max(roles, key=lambda r: r.rank) if roles else None


class OidcClient:
    """Talks to the provider: discovery and keys (read once, keys again when one is unknown), code and refresh."""

    def __init__(self, config: SsoConfig, timeout: float = 10.0) -> None:
        self.config = config
        self._timeout = timeout
        self._meta: dict[str, Any] | None = None
        self._keys: KeySet | None = None
        self._lock = asyncio.Lock()

    def _client(self, redirect_uri: str | None = None) -> AsyncOAuth2Client:
        return AsyncOAuth2Client(
            self.config.client_id,
            self.config.client_secret,
            scope=self.config.scopes,
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
            timeout=self._timeout,
        )

    async def metadata(self) -> dict[str, Any]:
        """The provider's discovery document; refused when it names another issuer."""
        async with self._lock:
            if self._meta is None:
                url = f"{self.config.issuer}/.well-known/openid-configuration"
                meta = await self._get_json(url)
                if meta.get("issuer") != self.config.issuer:
                    raise SsoRefused(
                        f"The identity provider calls itself {meta.get('issuer')!r}, not "
                        f"{self.config.issuer!r} (PROXGATE_OIDC_ISSUER).",
                        "wrong-issuer",
                    )
                self._meta = meta
            return self._meta

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            async with httpx.AsyncClient(timeout=self._timeout) as http:
                response = await http.get(url)
                response.raise_for_status()
                body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise SsoRefused(
                f"The identity provider could not be reached: {exc}", "provider-unreachable"
            ) from exc
        if not isinstance(body, dict):
            raise SsoRefused(f"The identity provider's {url} is not a JSON object.", "provider-error")
        return body

    async def _key_set(self, again: bool = False) -> KeySet:
        if self._keys is None or again:
            meta = await self.metadata()
            self._keys = KeySet.import_key_set(await self._get_json(meta["jwks_uri"]))  # type: ignore[arg-type]
        return self._keys

    async def begin(self, redirect_uri: str) -> tuple[str, Attempt]:
        """The provider's URL to send the browser to, and what must come back with it."""
        meta = await self.metadata()
        attempt = Attempt(generate_token(32), generate_token(32), generate_token(64))
        async with self._client(redirect_uri) as client:
            url, _ = client.create_authorization_url(
                meta["authorization_endpoint"],
                state=attempt.state,
                nonce=attempt.nonce,
                code_verifier=attempt.verifier,
            )
        return url, attempt

    async def finish(self, attempt: Attempt, redirect_uri: str, params: Mapping[str, str]) -> Identity:
        """The person the provider's answer names; SsoRefused for anything not exactly as asked."""
        if params.get("error"):
            said = params.get("error_description") or params["error"]
            raise SsoRefused(f"The identity provider refused the sign-in: {said[:200]}", "provider-refused")
        if not same_secret(params.get("state"), attempt.state):
            raise SsoRefused(
                "This sign-in was not started here, or it was already used. Start again.", "bad-state"
            )
        # RFC 9207: a provider that names itself in the answer must be the one asked (no mix-up).
        if "iss" in params and params["iss"] != self.config.issuer:
            raise SsoRefused("The answer came from another identity provider.", "wrong-issuer")
        meta = await self.metadata()
        async with self._client(redirect_uri) as client:
            try:
                token = await client.fetch_token(
                    meta["token_endpoint"], code=params.get("code", ""), code_verifier=attempt.verifier
                )
            except (OAuthError, httpx.HTTPError) as exc:
                raise SsoRefused(f"The identity provider did not accept the code: {exc}", "bad-code") from exc
        claims = await self.verify_id_token(str(token.get("id_token", "")), attempt.nonce)
        return self._identity(claims, token)

    async def refresh(self, refresh_token: str, subject: str) -> Identity:
        """The person as the provider sees them now; SsoRefused when it no longer lets them in."""
        meta = await self.metadata()
        async with self._client() as client:
            try:
                token = await client.refresh_token(meta["token_endpoint"], refresh_token=refresh_token)
            except (OAuthError, httpx.HTTPError) as exc:
                raise SsoRefused(
                    f"The identity provider ended the sign-in: {exc}", "refresh-refused"
                ) from exc
        if not token.get("id_token"):
            raise SsoRefused("The identity provider's refresh gave no ID token.", "refresh-refused")
        claims = await self.verify_id_token(str(token["id_token"]), None)
        if claims.get("sub") != subject:
            raise SsoRefused("The identity provider answered for someone else.", "wrong-subject")
        identity = self._identity(claims, token)
        # A provider that does not rotate refresh tokens answers without one: the old one stays good.
        return identity if identity.refresh_token else replace(identity, refresh_token=refresh_token)

    async def verify_id_token(self, id_token: str, nonce: str | None) -> dict[str, Any]:
        """The ID token's claims once its signature, issuer, audience, expiry and nonce are right."""
        offered = (await self.metadata()).get("id_token_signing_alg_values_supported", ["RS256"])
        allowed = [a for a in offered if a in ASYMMETRIC]
        try:
            try:
                decoded = jwt.decode(id_token, await self._key_set(), algorithms=allowed)
            except (BadSignatureError, ValueError):
                # The provider may have rotated its keys since they were read: read them once more.
                decoded = jwt.decode(id_token, await self._key_set(again=True), algorithms=allowed)
        except (JoseError, ValueError) as exc:
            raise SsoRefused(
                "The identity provider's ID token is not validly signed.", "bad-signature"
            ) from exc
        claims = decoded.claims
        checks = jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": self.config.issuer},
            aud={"essential": True, "value": self.config.client_id},
            sub={"essential": True},
            exp={"essential": True},
        )
        try:
            checks.validate(claims)
        except JoseError as exc:
            word = "wrong-issuer" if claims.get("iss") != self.config.issuer else "bad-claims"
            raise SsoRefused(
                f"The ID token is not for this Proxgate: {exc.description or exc}", word
            ) from exc
        if nonce is not None and not same_secret(str(claims.get("nonce", "")), nonce):
            raise SsoRefused("The ID token answers another sign-in (nonce).", "bad-nonce")
        return claims

    def _identity(self, claims: Mapping[str, Any], token: Mapping[str, Any]) -> Identity:
        raw = claims.get(self.config.groups_claim, [])
        groups = tuple(sorted({raw} if isinstance(raw, str) else {str(g) for g in raw if isinstance(g, str)}))
        return Identity(
            subject=str(claims["sub"]),
            username=str(claims.get("preferred_username") or claims["sub"]),
            groups=groups,
            role=role_for(groups, self.config.role_map),
            refresh_token=token.get("refresh_token"),
            id_token=str(token["id_token"]),
            mapped=tuple(g for g in groups if g in self.config.role_map),
        )

    async def end_session_url(self, id_token: str | None, after: str) -> str | None:
        """Where to send the browser to sign out at the provider too, when it offers that."""
        try:
            endpoint = (await self.metadata()).get("end_session_endpoint")
        except SsoRefused:
            return None
        if not endpoint:
            return None
        query = {"client_id": self.config.client_id, "post_logout_redirect_uri": after}
        if id_token:
            query["id_token_hint"] = id_token
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{urlencode(query)}"
