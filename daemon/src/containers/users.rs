//! Resolves a container's `User` (`name`, `uid`, `name:group`, `uid:gid`) and `GroupAdd` against the image
//! rootfs's `/etc/passwd` and `/etc/group`, as runc's libcontainer `GetExecUser` does for dockerd.

use crate::error::Error;

/// The identity the container's process runs as.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ResolvedUser {
    pub uid: u32,
    /// Primary group ID.
    pub gid: u32,
    /// Supplementary groups: the primary group, memberships from `/etc/group` (unless a group was named)
    /// and `GroupAdd`.
    pub additional_gids: Vec<u32>,
    /// The home directory from `/etc/passwd` (`/` without an entry).
    pub home: String,
}

struct PasswdEntry<'a> {
    name: &'a str,
    uid: u32,
    gid: u32,
    home: &'a str,
}

struct GroupEntry<'a> {
    name: &'a str,
    gid: u32,
    members: Vec<&'a str>,
}

fn passwd_entries(text: &str) -> impl Iterator<Item = PasswdEntry<'_>> {
    text.lines().filter_map(|line| {
        let fields: Vec<&str> = line.trim().split(':').collect();
        if fields.len() < 4 || fields[0].is_empty() || line.starts_with('#') {
            return None;
        }
        Some(PasswdEntry {
            name: fields[0],
            uid: fields[2].parse().ok()?,
            gid: fields[3].parse().ok()?,
            home: fields.get(5).copied().unwrap_or(""),
        })
    })
}

fn group_entries(text: &str) -> impl Iterator<Item = GroupEntry<'_>> {
    text.lines().filter_map(|line| {
        let fields: Vec<&str> = line.trim().split(':').collect();
        if fields.len() < 3 || fields[0].is_empty() || line.starts_with('#') {
            return None;
        }
        Some(GroupEntry {
            name: fields[0],
            gid: fields[2].parse().ok()?,
            members: fields
                .get(3)
                .map(|m| m.split(',').filter(|s| !s.is_empty()).collect())
                .unwrap_or_default(),
        })
    })
}

/// Resolves `user` and `group_add` against the given file contents (empty strings for missing files).
pub(crate) fn resolve_user_in(
    passwd: &str,
    group: &str,
    user: &str,
    group_add: &[String],
) -> Result<ResolvedUser, Error> {
    let (user_arg, group_arg) = match user.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (user, None),
    };
    let user_arg = if user_arg.is_empty() {
        "root"
    } else {
        user_arg
    };
    let uid_arg: Option<u32> = user_arg.parse().ok();

    let entry = passwd_entries(passwd).find(|e| e.name == user_arg || Some(e.uid) == uid_arg);
    let mut resolved = match (&entry, uid_arg) {
        (Some(e), _) => ResolvedUser {
            uid: e.uid,
            gid: e.gid,
            additional_gids: Vec::new(),
            home: if e.home.is_empty() {
                "/".into()
            } else {
                e.home.into()
            },
        },
        (None, Some(uid)) => ResolvedUser {
            uid,
            gid: 0,
            additional_gids: Vec::new(),
            home: "/".into(),
        },
        (None, None) if user_arg == "root" => ResolvedUser {
            home: "/".into(),
            ..ResolvedUser::default()
        },
        (None, None) => {
            return Err(Error::invalid(format!(
                "unable to find user {user_arg}: no matching entries in passwd file"
            )))
        }
    };

    match group_arg.filter(|g| !g.is_empty()) {
        Some(g) => {
            let gid_arg: Option<u32> = g.parse().ok();
            match group_entries(group).find(|e| e.name == g || Some(e.gid) == gid_arg) {
                Some(e) => resolved.gid = e.gid,
                None => match gid_arg {
                    Some(gid) => resolved.gid = gid,
                    None => {
                        return Err(Error::invalid(format!(
                            "unable to find group {g}: no matching entries in group file"
                        )))
                    }
                },
            }
        }
        None => {
            if let Some(e) = &entry {
                resolved.additional_gids = group_entries(group)
                    .filter(|g| g.members.contains(&e.name))
                    .map(|g| g.gid)
                    .collect();
            }
        }
    }

    // dockerd gives the process its primary group as a supplementary one too (`id` shows it in
    // `groups=`), whether the group came from the passwd entry or was named.
    if !resolved.additional_gids.contains(&resolved.gid) {
        resolved.additional_gids.insert(0, resolved.gid);
    }

    for add in group_add {
        let gid_arg: Option<u32> = add.parse().ok();
        let gid = match group_entries(group).find(|e| e.name == add || Some(e.gid) == gid_arg) {
            Some(e) => e.gid,
            None => gid_arg.ok_or_else(|| {
                Error::invalid(format!(
                    "Unable to find group {add}: no matching entries in group file"
                ))
            })?,
        };
        if !resolved.additional_gids.contains(&gid) {
            resolved.additional_gids.push(gid);
        }
    }
    Ok(resolved)
}

#[cfg(test)]
mod tests {
    use super::*;
    use wharf_client_core::ErrorKind;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\n\
                          daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n\
                          app:x:1000:1000::/home/app:/bin/sh\n";
    const GROUP: &str =
        "root:x:0:\ndaemon:x:1:\nwheel:x:10:app,root\naudio:x:29:app\napp:x:1000:\n";

    fn r(user: &str) -> Result<ResolvedUser, Error> {
        resolve_user_in(PASSWD, GROUP, user, &[])
    }

    #[test]
    fn empty_user_is_root_with_memberships() {
        let u = r("").unwrap();
        assert_eq!((u.uid, u.gid, u.home.as_str()), (0, 0, "/root"));
        assert_eq!(u.additional_gids, vec![0, 10]);
    }

    #[test]
    fn name_and_uid_find_the_entry() {
        for spec in ["app", "1000"] {
            let u = r(spec).unwrap();
            assert_eq!((u.uid, u.gid), (1000, 1000), "{spec}");
            assert_eq!(u.additional_gids, vec![1000, 10, 29]);
            assert_eq!(u.home, "/home/app");
        }
    }

    #[test]
    fn explicit_group_sets_gid_and_drops_memberships() {
        let u = r("app:audio").unwrap();
        assert_eq!((u.uid, u.gid), (1000, 29));
        assert_eq!(u.additional_gids, vec![29]);
        let u = r("1000:4242").unwrap();
        assert_eq!((u.uid, u.gid), (1000, 4242));
        assert_eq!(u.additional_gids, vec![4242]);
    }

    #[test]
    fn numeric_ids_without_entries_are_allowed() {
        let u = r("4242:4343").unwrap();
        assert_eq!((u.uid, u.gid, u.home.as_str()), (4242, 4343, "/"));
        let u = resolve_user_in("", "", "5", &[]).unwrap();
        assert_eq!((u.uid, u.gid), (5, 0));
    }

    #[test]
    fn unknown_names_are_400_with_runc_wording() {
        let err = r("nobody").unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidParameter);
        assert_eq!(
            err.message,
            "unable to find user nobody: no matching entries in passwd file"
        );
        assert_eq!(
            r("app:nogroup").unwrap_err().message,
            "unable to find group nogroup: no matching entries in group file"
        );
    }

    #[test]
    fn group_add_resolves_names_and_numbers() {
        let u = resolve_user_in(PASSWD, GROUP, "daemon", &["audio".into(), "77".into()]).unwrap();
        assert_eq!(u.additional_gids, vec![1, 29, 77]);
        let err = resolve_user_in(PASSWD, GROUP, "daemon", &["nope".into()]).unwrap_err();
        assert_eq!(
            err.message,
            "Unable to find group nope: no matching entries in group file"
        );
    }
}
