//! The runc shim's options (`containerd.runc.v1.Options`), which containerd-client does not compile: the
//! few fields Wharf sets, tagged as in containerd's `runtime/v2/runc/options/oci.proto`.
//!
//! Wharf gives runc a state root of its own (under the exec root), as dockerd does with
//! `/run/docker/runtime-runc`, so that its containers never collide with a system containerd's.

use containerd_client::services::v1::container::Runtime;
use prost::Message;

/// containerd's name for runc through the v2 shim.
pub(crate) const RUNTIME_NAME: &str = "io.containerd.runc.v2";

/// The type URL containerd registers the options under.
pub(crate) const OPTIONS_TYPE_URL: &str = "containerd.runc.v1.Options";

/// `containerd.runc.v1.Options`, with only the fields Wharf uses.
#[derive(Clone, PartialEq, Message)]
pub(crate) struct RuncOptions {
    /// Skip pivot_root (rootfs on a ramdisk).
    #[prost(bool, tag = "1")]
    pub no_pivot_root: bool,
    /// The runc binary (empty: `runc` on PATH).
    #[prost(string, tag = "6")]
    pub binary_name: String,
    /// runc's `--root`: where it keeps container state.
    #[prost(string, tag = "7")]
    pub root: String,
    /// Use the systemd cgroup driver.
    #[prost(bool, tag = "9")]
    pub systemd_cgroup: bool,
}

impl RuncOptions {
    /// The options as the `Any` containerd expects.
    pub(crate) fn to_any(&self) -> prost_types::Any {
        prost_types::Any {
            type_url: OPTIONS_TYPE_URL.to_owned(),
            value: self.encode_to_vec(),
        }
    }

    /// The runtime record of a container run by runc with these options.
    pub(crate) fn runtime(&self) -> Runtime {
        Runtime {
            name: RUNTIME_NAME.to_owned(),
            options: Some(self.to_any()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_encode_with_containerd_tags() {
        let opts = RuncOptions {
            root: "/r".into(),
            systemd_cgroup: true,
            ..Default::default()
        };
        // Field 7 (string, wire type 2) "/r", then field 9 (varint) 1.
        assert_eq!(opts.encode_to_vec(), [0x3a, 2, b'/', b'r', 0x48, 1]);
        let any = opts.to_any();
        assert_eq!(any.type_url, "containerd.runc.v1.Options");
        assert_eq!(RuncOptions::decode(any.value.as_slice()).unwrap(), opts);
    }
}
