//! The runtime's side of networking: a run's network before its task starts (the bridge's namespace and
//! CNI ADD, or another container's namespace), its release when the run ends or the container goes, and
//! the clean-up after a restart of wharfd. The record holds the attachment from before the ADD until
//! after the DEL, so a `kill -9` at any point leaves something the next wharfd can undo.

use std::collections::HashSet;
use std::path::PathBuf;

use wharf_client_core::ErrorKind;

use super::Runtime;
use crate::containers::record::ContainerRecord;
use crate::containers::spec::{network_mode, NetworkMode};
use crate::error::Error;
use crate::network::ports;

impl Runtime {
    /// Sets up the network of a run about to start: the namespace its spec joins (`None`: a new one
    /// runc makes, or the host's).
    pub(super) async fn attach_network(
        &self,
        record: &ContainerRecord,
    ) -> Result<Option<PathBuf>, Error> {
        let id = record.id.as_str();
        match network_mode(&record.host_config)? {
            NetworkMode::None | NetworkMode::Host => Ok(None),
            NetworkMode::Container(other) => {
                let other = self.store().get(&other)?;
                if !other.state.running {
                    return Err(Error::new(
                        ErrorKind::Conflict,
                        format!(
                            "cannot join network of a non running container: {}",
                            other.id
                        ),
                    ));
                }
                Ok(Some(match &other.network {
                    Some(a) => PathBuf::from(&a.netns),
                    None => PathBuf::from(format!("/proc/{}/ns/net", other.state.pid)),
                }))
            }
            NetworkMode::Bridge => {
                // What a run that ended unseen left is released first.
                self.detach_network(id).await;
                let hc = &record.host_config;
                let wanted = ports::wanted(
                    hc.port_bindings.as_ref(),
                    record.config.exposed_ports.as_ref(),
                    hc.publish_all_ports.unwrap_or(false),
                )?;
                let net = &self.inner.networks;
                let mut att = net.prepare(id, &wanted).await.map_err(|e| {
                    Error::new(
                        e.kind,
                        format!(
                            "driver failed programming external connectivity on endpoint {} ({}): {}",
                            record.name.trim_start_matches('/'),
                            id,
                            e.message
                        ),
                    )
                })?;
                let pending = att.clone();
                if let Err(e) = self
                    .update(id, move |r| {
                        r.network = Some(pending);
                        Ok(())
                    })
                    .await
                {
                    net.release(id, &att).await;
                    return Err(e);
                }
                if let Err(e) = net.connect(id, &mut att).await {
                    self.detach_network(id).await;
                    return Err(e);
                }
                let path = PathBuf::from(&att.netns);
                self.update(id, move |r| {
                    r.network = Some(att);
                    Ok(())
                })
                .await?;
                Ok(Some(path))
            }
        }
    }

    /// Releases the container's attachment, if it has one, and forgets it.
    pub(super) async fn detach_network(&self, id: &str) {
        let Some(att) = self.store().get(id).ok().and_then(|r| r.network) else {
            return;
        };
        self.inner.networks.release(id, &att).await;
        let _ = self
            .update(id, |r| {
                r.network = None;
                Ok(())
            })
            .await;
    }

    /// After the records are reconciled at start-up: stopped containers' attachments are released,
    /// running ones (`--live-restore`) get their published ports held again, and namespace files no
    /// running container owns are removed.
    pub(super) async fn restore_networks(&self) {
        let mut keep = HashSet::new();
        for record in self.store().list() {
            let Some(att) = &record.network else {
                continue;
            };
            if record.state.running {
                self.inner.networks.keep_ports(&record.id, &att.ports);
                keep.insert(record.id.clone());
            } else {
                tracing::info!(container = %record.id, "releasing the network of a container that no longer runs");
                self.detach_network(&record.id).await;
            }
        }
        self.inner.networks.sweep(keep).await;
    }

    /// At shutdown, once the containers stopped: the bridge goes when no container is left on it.
    pub(super) async fn shutdown_networks(&self) {
        if self.store().list().iter().all(|r| r.network.is_none()) {
            self.inner.networks.remove_bridge().await;
        }
    }
}
