//! Reading what the registry sent: an index (a Docker manifest list or an OCI index) to choose a platform
//! from, or an image manifest (Docker schema 2 or OCI) whose config and layers a pull fetches. Layers
//! must be tar, gzip or zstd blobs the registry serves: foreign and non-distributable layers (Windows base
//! images, fetched from URLs elsewhere) are refused by name, as is anything that is not a container image.

use serde::Deserialize;
use wharf_client_core::ErrorKind;

use super::platform::Platform;
use crate::error::Error;
use crate::registry::FetchedManifest;

pub(crate) const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub(crate) const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub(crate) const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub(crate) const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const DOCKER_SCHEMA1: &[&str] = &[
    "application/vnd.docker.distribution.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
];
const CONFIGS: &[&str] = &[
    "application/vnd.docker.container.image.v1+json",
    "application/vnd.oci.image.config.v1+json",
];
const LAYERS: &[&str] = &[
    "application/vnd.docker.image.rootfs.diff.tar.gzip",
    "application/vnd.docker.image.rootfs.diff.tar",
    "application/vnd.oci.image.layer.v1.tar",
    "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/vnd.oci.image.layer.v1.tar+zstd",
];

/// A descriptor as manifests and indexes carry it.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RemoteDescriptor {
    #[serde(default)]
    pub media_type: String,
    pub digest: String,
    pub size: i64,
    #[serde(default)]
    pub urls: Vec<String>,
    #[serde(default)]
    pub platform: Option<RemotePlatform>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
pub(crate) struct RemotePlatform {
    #[serde(default)]
    pub os: String,
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub variant: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Document {
    #[serde(default)]
    schema_version: u32,
    #[serde(default)]
    media_type: String,
    #[serde(default)]
    manifests: Option<Vec<RemoteDescriptor>>,
    #[serde(default)]
    config: Option<RemoteDescriptor>,
    #[serde(default)]
    layers: Option<Vec<RemoteDescriptor>>,
}

/// What a fetched document is.
#[derive(Debug)]
pub(crate) enum Parsed {
    /// A manifest list or OCI index.
    Index(Vec<RemoteDescriptor>),
    /// An image manifest: its config and layers (checked).
    Image {
        config: RemoteDescriptor,
        layers: Vec<RemoteDescriptor>,
    },
}

fn bad(m: &FetchedManifest, why: impl std::fmt::Display) -> Error {
    Error::invalid(format!("invalid manifest {}: {why}", m.digest))
}

/// Parses and checks a document the registry sent.
pub(crate) fn parse(m: &FetchedManifest) -> Result<Parsed, Error> {
    if DOCKER_SCHEMA1.contains(&m.media_type.as_str()) {
        return Err(Error::new(
            ErrorKind::InvalidParameter,
            format!(
                "{} is a Docker schema 1 manifest, which is deprecated and not supported: push the image again with a newer docker",
                m.digest
            ),
        ));
    }
    let doc: Document = serde_json::from_slice(&m.bytes).map_err(|e| bad(m, e))?;
    if doc.schema_version == 1 {
        return Err(bad(m, "schema 1 manifests are not supported"));
    }
    let media_type = if doc.media_type.is_empty() {
        m.media_type.as_str()
    } else {
        doc.media_type.as_str()
    };
    match (media_type, doc.manifests, doc.config, doc.layers) {
        (DOCKER_LIST | OCI_INDEX, Some(list), _, _) => Ok(Parsed::Index(list)),
        (_, Some(list), None, None) if media_type.is_empty() || media_type == OCI_INDEX => {
            Ok(Parsed::Index(list))
        }
        (DOCKER_MANIFEST | OCI_MANIFEST | "", None, Some(config), layers) => {
            let layers = layers.unwrap_or_default();
            check_image(m, &config, &layers)?;
            Ok(Parsed::Image { config, layers })
        }
        (other, ..) => Err(Error::invalid(format!(
            "unsupported manifest media type {other:?} for {}",
            m.digest
        ))),
    }
}

fn check_image(
    m: &FetchedManifest,
    config: &RemoteDescriptor,
    layers: &[RemoteDescriptor],
) -> Result<(), Error> {
    if !CONFIGS.contains(&config.media_type.as_str()) {
        return Err(Error::invalid(format!(
            "Encountered remote \"{}\"(unknown) when fetching: {} is not a container image",
            config.media_type, m.digest
        )));
    }
    for l in layers {
        let foreign = l.media_type.contains("foreign") || l.media_type.contains("nondistributable");
        if foreign {
            return Err(Error::new(
                ErrorKind::NotImplemented,
                format!(
                    "layer {} is a foreign (non-distributable) layer ({}), to be fetched from {}: wharfd pulls only layers the registry serves",
                    l.digest,
                    l.media_type,
                    if l.urls.is_empty() { "elsewhere".to_owned() } else { l.urls.join(", ") }
                ),
            ));
        }
        if !LAYERS.contains(&l.media_type.as_str()) {
            return Err(bad(
                m,
                format!("unsupported layer media type {:?}", l.media_type),
            ));
        }
        if l.size < 0 || !valid_digest(&l.digest) {
            return Err(bad(m, format!("invalid layer descriptor {}", l.digest)));
        }
    }
    if !valid_digest(&config.digest) {
        return Err(bad(m, format!("invalid config digest {}", config.digest)));
    }
    Ok(())
}

/// `sha256:` and 64 lowercase hex digits.
pub(crate) fn valid_digest(d: &str) -> bool {
    d.strip_prefix("sha256:")
        .is_some_and(|h| h.len() == 64 && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
}

/// The platforms of an index's entries (entries without one count as the host's, as dockerd's
/// `toOCIPlatform` of an empty platform matches nothing but an empty want; we keep them unmatched).
pub(crate) fn platforms(entries: &[RemoteDescriptor]) -> Vec<Platform> {
    entries
        .iter()
        .map(|e| {
            let p = e.platform.clone().unwrap_or_default();
            Platform {
                os: p.os,
                architecture: p.architecture,
                variant: p.variant,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    const D: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn fetched(media_type: &str, body: String) -> FetchedManifest {
        FetchedManifest {
            media_type: media_type.into(),
            digest: D.into(),
            bytes: Bytes::from(body),
        }
    }

    fn image(config_type: &str, layer_type: &str) -> String {
        format!(
            r#"{{"schemaVersion":2,"mediaType":"{DOCKER_MANIFEST}","config":{{"mediaType":"{config_type}","digest":"{D}","size":7}},"layers":[{{"mediaType":"{layer_type}","digest":"{D}","size":9,"urls":["https://x/l"]}}]}}"#
        )
    }

    #[test]
    fn images_and_indexes_parse_with_their_platforms() {
        let m = fetched(
            DOCKER_MANIFEST,
            image(
                CONFIGS[0],
                "application/vnd.docker.image.rootfs.diff.tar.gzip",
            ),
        );
        match parse(&m).unwrap() {
            Parsed::Image { config, layers } => {
                assert_eq!(config.size, 7);
                assert_eq!(layers.len(), 1);
                assert_eq!(layers[0].size, 9);
            }
            other => panic!("{other:?}"),
        }
        for layer in [
            "application/vnd.oci.image.layer.v1.tar+zstd",
            "application/vnd.oci.image.layer.v1.tar",
        ] {
            assert!(parse(&fetched(OCI_MANIFEST, image(CONFIGS[1], layer))).is_ok());
        }
        let index = format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_INDEX}","manifests":[{{"mediaType":"{OCI_MANIFEST}","digest":"{D}","size":3,"platform":{{"architecture":"arm","os":"linux","variant":"v6"}}}}]}}"#
        );
        // The Content-Type may be generic: the document's mediaType decides.
        match parse(&fetched("application/json", index)).unwrap() {
            Parsed::Index(entries) => assert_eq!(
                platforms(&entries),
                vec![Platform {
                    os: "linux".into(),
                    architecture: "arm".into(),
                    variant: "v6".into()
                }]
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn foreign_layers_schema1_and_non_images_are_refused_by_name() {
        let foreign = fetched(
            DOCKER_MANIFEST,
            image(
                CONFIGS[0],
                "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
            ),
        );
        let e = parse(&foreign).unwrap_err();
        assert_eq!(e.kind, ErrorKind::NotImplemented);
        assert!(
            e.message.contains("foreign (non-distributable) layer"),
            "{e}"
        );
        assert!(e.message.contains("https://x/l"), "{e}");
        let e = parse(&fetched(
            OCI_MANIFEST,
            image(
                CONFIGS[1],
                "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
            ),
        ))
        .unwrap_err();
        assert!(e.message.contains("foreign"), "{e}");

        let helm = fetched(
            OCI_MANIFEST,
            image(
                "application/vnd.cncf.helm.config.v1+json",
                "application/vnd.oci.image.layer.v1.tar",
            ),
        );
        assert!(parse(&helm)
            .unwrap_err()
            .message
            .contains("is not a container image"));
        let odd = fetched(OCI_MANIFEST, image(CONFIGS[1], "application/x-bzip"));
        assert!(parse(&odd)
            .unwrap_err()
            .message
            .contains("unsupported layer media type"));
        let s1 = fetched(DOCKER_SCHEMA1[1], "{}".into());
        assert!(parse(&s1).unwrap_err().message.contains("schema 1"));
        let junk = fetched(OCI_MANIFEST, "not json".into());
        assert!(parse(&junk)
            .unwrap_err()
            .message
            .starts_with("invalid manifest"));
    }
}
