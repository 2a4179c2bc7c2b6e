//! Unit tests of the OIDC provider with the fake platform.
