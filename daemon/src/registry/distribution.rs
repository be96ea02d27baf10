//! What a registry holds under a name — the descriptor of its manifest or index and the platforms it
//! serves — asked of the registry itself, nothing stored locally (`GET /distribution/{name}/json`, moby's
//! `distribution` router; the handler is `api/distribution.rs`).

use serde::Serialize;
use wharf_client_core::registry_auth::RegistryAuth;
use wharf_client_core::Reference;

use super::{Access, Registries, RemoteDescriptor, Repository};
use crate::error::Error;

/// Manifest lists and OCI indexes: their entries carry the platforms.
const INDEX_TYPES: &[&str] = &[
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.index.v1+json",
];

/// The largest image config read for its platform.
const MAX_CONFIG: usize = 8 << 20;

/// A platform in dockerd's (the OCI spec's) field order; empty optional fields left out.
#[derive(Debug, Default, Serialize, serde::Deserialize, PartialEq, Eq)]
pub(crate) struct Platform {
    #[serde(default)]
    architecture: String,
    #[serde(default)]
    os: String,
    #[serde(
        default,
        rename = "os.version",
        skip_serializing_if = "String::is_empty"
    )]
    os_version: String,
    #[serde(default, rename = "os.features", skip_serializing_if = "Vec::is_empty")]
    os_features: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    variant: String,
}

#[derive(Debug, Serialize)]
struct Descriptor {
    #[serde(rename = "mediaType")]
    media_type: String,
    digest: String,
    size: i64,
}

/// The answer, as dockerd's `registry.DistributionInspect`.
#[derive(Debug, Serialize)]
pub(crate) struct DistributionInspect {
    #[serde(rename = "Descriptor")]
    descriptor: Descriptor,
    #[serde(rename = "Platforms")]
    platforms: Vec<Platform>,
}

/// The descriptor `reference` resolves to on its registry, and its platforms.
pub(crate) async fn inspect(
    registries: &Registries,
    reference: &Reference,
    auth: &RegistryAuth,
) -> Result<DistributionInspect, Error> {
    let repo = registries.repository(reference, auth, Access::Pull)?;
    let target = reference
        .digest()
        .or(reference.tag())
        .unwrap_or("latest")
        .to_owned();
    let RemoteDescriptor {
        media_type,
        digest,
        size,
    } = repo.manifest_descriptor(&target).await?;
    let manifest = repo.manifest(&digest).await?;
    let platforms = if INDEX_TYPES.contains(&manifest.media_type.as_str()) {
        #[derive(serde::Deserialize)]
        struct Entry {
            #[serde(default)]
            platform: Option<Platform>,
        }
        #[derive(serde::Deserialize)]
        struct Index {
            #[serde(default)]
            manifests: Vec<Entry>,
        }
        let index: Index = serde_json::from_slice(&manifest.bytes)
            .map_err(|e| Error::system(format!("invalid index {digest}: {e}")))?;
        index
            .manifests
            .into_iter()
            .filter_map(|e| e.platform)
            .collect()
    } else {
        #[derive(serde::Deserialize)]
        struct ConfigRef {
            digest: String,
        }
        #[derive(serde::Deserialize)]
        struct Manifest {
            config: Option<ConfigRef>,
        }
        let parsed: Manifest = serde_json::from_slice(&manifest.bytes)
            .map_err(|e| Error::system(format!("invalid manifest {digest}: {e}")))?;
        match parsed.config {
            Some(config) => vec![config_platform(&repo, &config.digest).await?],
            None => Vec::new(),
        }
    };
    Ok(DistributionInspect {
        descriptor: Descriptor {
            media_type,
            digest,
            size,
        },
        platforms,
    })
}

/// The platform an image config declares.
async fn config_platform(repo: &Repository, digest: &str) -> Result<Platform, Error> {
    use futures_util::StreamExt;
    let mut stream = repo.blob(digest, 0).await?;
    let mut bytes = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        if bytes.len() + chunk.len() > MAX_CONFIG {
            return Err(Error::system(format!("image config {digest} is too large")));
        }
        bytes.extend_from_slice(&chunk);
    }
    serde_json::from_slice(&bytes)
        .map_err(|e| Error::system(format!("invalid image config {digest}: {e}")))
}
