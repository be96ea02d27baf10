//! `docker rmi` and `docker image prune`: untag versus delete as dockerd decides, conflicts worded as
//! dockerd words them, and the `[{"Untagged": ...}, {"Deleted": ...}]` answer.

use serde::Serialize;
use wharf_client_core::reference::Reference;
use wharf_client_core::ErrorKind;

use super::{ImageEntry, ImageStore, DANGLING_PREFIX};
use crate::error::Error;

/// One line of `DELETE /images/{name}`'s answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) enum DeleteItem {
    /// A tag removed.
    Untagged(String),
    /// An image removed.
    Deleted(String),
}

fn short(id: &str) -> &str {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    hex.get(..12).unwrap_or(hex)
}

impl ImageStore {
    /// `DELETE /images/{name}`.
    pub(crate) async fn delete(&self, name: &str, force: bool) -> Result<Vec<DeleteItem>, Error> {
        let entry = self.resolve(name).await?;
        let users = self.users().containers_using(&entry.id);
        let by_ref = Reference::parse_tagged(name)
            .ok()
            .map(|r| r.to_string())
            .filter(|full| entry.names.contains(full));
        let tags = entry.repo_tags();
        let mut out = Vec::new();
        if let Some(full) = by_ref {
            let last = tags.len() <= 1;
            if last && !users.is_empty() && !force {
                return Err(Error::new(
                    ErrorKind::Conflict,
                    format!(
                        "conflict: unable to remove repository reference \"{name}\" (must force) - container {} is using its referenced image {}",
                        short(&users[0]),
                        short(&entry.id)
                    ),
                ));
            }
            let removed = Reference::parse(&full).ok();
            // As dockerd: untagging the last tag of a repository also drops its digest references.
            let mut gone = vec![full.clone()];
            if let Some(r) = removed.as_ref().filter(|r| r.digest().is_none()) {
                let other_tag_here = entry.names.iter().any(|n| {
                    *n != full
                        && Reference::parse(n)
                            .is_ok_and(|o| o.digest().is_none() && o.name() == r.name())
                });
                if !other_tag_here {
                    gone.extend(
                        entry
                            .names
                            .iter()
                            .filter(|n| {
                                Reference::parse(n)
                                    .is_ok_and(|o| o.digest().is_some() && o.name() == r.name())
                            })
                            .cloned(),
                    );
                }
            }
            let remaining = entry
                .names
                .iter()
                .any(|n| !gone.contains(n) && !n.starts_with(DANGLING_PREFIX));
            let items: Vec<DeleteItem> = gone
                .iter()
                .map(|n| {
                    DeleteItem::Untagged(Reference::parse(n).map_or(n.clone(), |r| r.familiar()))
                })
                .collect();
            if remaining {
                for n in &gone {
                    self.cd.image_delete(n, false).await?;
                }
                for item in &items {
                    if let DeleteItem::Untagged(name) = item {
                        self.emit("untag", &entry.id, Some(name));
                    }
                }
                return Ok(items);
            }
            out.extend(items);
        } else {
            if tags.len() > 1 && !force {
                return Err(Error::new(
                    ErrorKind::Conflict,
                    format!(
                        "conflict: unable to delete {} (must be forced) - image is referenced in multiple repositories",
                        short(&entry.id)
                    ),
                ));
            }
            out.extend(tags.into_iter().map(DeleteItem::Untagged));
            out.extend(entry.repo_digests().into_iter().map(DeleteItem::Untagged));
        }
        if !users.is_empty() {
            return Err(Error::new(
                ErrorKind::Conflict,
                format!(
                    "conflict: unable to delete {} ({}) - image is being used by container {}",
                    short(&entry.id),
                    if force {
                        "cannot be forced"
                    } else {
                        "must be forced"
                    },
                    short(&users[0])
                ),
            ));
        }
        self.remove_all(&entry).await?;
        for item in &out {
            if let DeleteItem::Untagged(name) = item {
                self.emit("untag", &entry.id, Some(name));
            }
        }
        out.push(DeleteItem::Deleted(entry.id.clone()));
        self.emit("delete", &entry.id, None);
        Ok(out)
    }

    /// Deletes every record of `entry`, the last one with a synchronous garbage collection so that its
    /// content and snapshots are gone when this returns.
    async fn remove_all(&self, entry: &ImageEntry) -> Result<(), Error> {
        // A dangling record that may or may not exist goes first, so that the last delete — the one that
        // waits for the garbage collection — names a record that exists.
        let dangling = format!("{DANGLING_PREFIX}{}", entry.meta.manifest_digest);
        let mut names = vec![dangling.clone()];
        names.extend(entry.names.iter().filter(|n| **n != dangling).cloned());
        let count = names.len();
        for (i, n) in names.iter().enumerate() {
            match self.cd.image_delete(n, i + 1 == count).await {
                Err(e) if !e.is_not_found() => return Err(e.into()),
                _ => {}
            }
        }
        Ok(())
    }

    /// `POST /images/prune`: dangling images, or (`dangling=false`) every image no container uses.
    /// Answers what was deleted and the bytes reclaimed.
    pub(crate) async fn prune(
        &self,
        all: bool,
        keep: impl Fn(&ImageEntry) -> bool,
    ) -> Result<(Vec<DeleteItem>, i64), Error> {
        let mut out = Vec::new();
        let mut reclaimed = 0i64;
        for entry in self.list().await? {
            if (!all && !entry.dangling()) || keep(&entry) {
                continue;
            }
            if !self.users().containers_using(&entry.id).is_empty() {
                continue;
            }
            out.extend(entry.repo_tags().into_iter().map(DeleteItem::Untagged));
            out.extend(entry.repo_digests().into_iter().map(DeleteItem::Untagged));
            self.remove_all(&entry).await?;
            out.push(DeleteItem::Deleted(entry.id.clone()));
            reclaimed += entry.size;
            self.emit("delete", &entry.id, None);
        }
        Ok((out, reclaimed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_serialise_as_dockerd_answers() {
        let items = vec![
            DeleteItem::Untagged("img:1".into()),
            DeleteItem::Deleted("sha256:abc".into()),
        ];
        assert_eq!(
            serde_json::to_string(&items).unwrap(),
            r#"[{"Untagged":"img:1"},{"Deleted":"sha256:abc"}]"#
        );
        assert_eq!(short("sha256:0123456789abcdef"), "0123456789ab");
    }
}
