//! Host → tenant resolution: the request's host picks `host:{hostname}`, which names the tenant
//! whose `tenant:{id}` value configures everything else. Both reads go through a per-isolate cache
//! (about a minute), and unknown hosts are remembered briefly too, so a flood of random `Host`
//! headers cannot turn into a flood of KV reads.

pub mod config;

use std::sync::Arc;

pub use config::TenantConfig;
pub(crate) use config::{ConfigError, IdentityMode};

use crate::cache::TtlCache;
use crate::kv_key;
use crate::platform::{Platform, PlatformError};

/// How long a resolved tenant is served from the cache.
pub(crate) const CONFIG_TTL_SECS: u64 = 60;
/// How long an unknown host or a broken value is remembered.
const NEGATIVE_TTL_SECS: u64 = 10;

/// Why a request's host does not lead to a usable tenant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TenantError {
    /// No `host:{hostname}` entry.
    #[error("no tenant serves this host")]
    UnknownHost,
    /// A stored value cannot be used.
    #[error("tenant {tenant}: configuration invalid: {error}")]
    Invalid {
        /// Tenant id (or the host, when the host record itself is broken).
        tenant: String,
        /// What is wrong.
        error: ConfigError,
    },
    /// KV could not be read.
    #[error("tenant configuration unavailable: {0}")]
    Unavailable(PlatformError),
}

type Resolution = Result<Arc<TenantConfig>, TenantError>;

/// Resolves hosts to tenant configuration, with a per-isolate cache.
#[derive(Debug, Default)]
pub struct TenantResolver {
    by_host: TtlCache<Resolution>,
}

impl TenantResolver {
    /// The tenant serving `host` (lowercase, no port).
    pub async fn resolve(&self, host: &str, platform: &impl Platform) -> Resolution {
        let now = platform.now();
        if let Some(hit) = self.by_host.get(host, now) {
            return hit;
        }
        let resolution = load(host, platform).await;
        let ttl = match &resolution {
            Ok(_) => CONFIG_TTL_SECS,
            // A KV outage is not cached: the next request tries again.
            Err(TenantError::Unavailable(_)) => return resolution,
            Err(_) => NEGATIVE_TTL_SECS,
        };
        self.by_host
            .put(host, resolution.clone(), now.plus_secs(ttl), now);
        resolution
    }
}

async fn load(host: &str, platform: &impl Platform) -> Resolution {
    let hostname_char = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'.';
    if host.is_empty() || host.len() > 253 || !host.bytes().all(hostname_char) {
        return Err(TenantError::UnknownHost);
    }
    let record = match platform.config_get(&kv_key::host(host)).await {
        Ok(Some(bytes)) => {
            config::HostRecord::parse(&bytes).map_err(|error| TenantError::Invalid {
                tenant: kv_key::host(host),
                error,
            })?
        }
        Ok(None) => return Err(TenantError::UnknownHost),
        Err(e) => return Err(TenantError::Unavailable(e)),
    };
    let tenant = record.tenant.as_str().to_string();
    let invalid = |error| TenantError::Invalid {
        tenant: tenant.clone(),
        error,
    };
    let bytes = match platform.config_get(&kv_key::tenant(&tenant)).await {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return Err(invalid(ConfigError::Shape("tenant value missing".into()))),
        Err(e) => return Err(TenantError::Unavailable(e)),
    };
    let cfg = TenantConfig::parse(&bytes).map_err(invalid)?;
    if cfg.id.as_str() != tenant {
        return Err(invalid(ConfigError::Field {
            field: "id",
            rule: "must equal the tenant named by the host record",
        }));
    }
    if !cfg.hostnames.iter().any(|h| h == host) {
        return Err(invalid(ConfigError::HostNotListed {
            tenant: tenant.clone(),
            host: host.to_string(),
        }));
    }
    Ok(Arc::new(cfg))
}
