"""Security promises, each with the test that proves it: who may call what, CSRF, sessions, sign-in."""
