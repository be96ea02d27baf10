//! The run form's logic: its fields as typed ([`Form`]), checked and parsed as the docker CLI parses
//! `docker run`'s flags ([`spec`]: the command split as a shell splits it, `KEY=VALUE` lines, bind and
//! tmpfs mounts, `256m` memory sizes, `1.5` CPUs, restart policies), and the equivalent `docker run`
//! line, quoted for a POSIX shell ([`line()`]), which parses back into the same form
//! ([`form_from_line`], also how a pasted line fills the form).
//!
//! Plain Rust (no web-sys): tested natively, the create request's body included ([`Spec::body`]).

use std::borrow::Cow;
use std::fmt::Write as _;

use serde_json::{json, Map, Value};

/// The form's fields, as the user typed them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Form {
    pub image: String,
    pub name: String,
    /// The command and its arguments, as a shell line: `sh -c 'echo hi'`.
    pub command: String,
    /// `KEY=VALUE`, one a line.
    pub env: String,
    /// `SOURCE:TARGET[:MODE]` (a bind mount or named volume) or `tmpfs TARGET[:OPTIONS]`, one a line.
    pub mounts: String,
    /// `no`, `always`, `unless-stopped`, `on-failure` or `on-failure:N`; empty is `no`.
    pub restart: String,
    /// A size as `docker run -m` takes it (`256m`, `1g`); empty for no limit.
    pub memory: String,
    /// A number of CPUs as `--cpus` takes it (`1.5`); empty for no limit.
    pub cpus: String,
    pub tty: bool,
    pub interactive: bool,
    pub auto_remove: bool,
}

/// Why the form cannot be sent: which field, and the message (worded as the docker CLI words it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// The field's name in [`Form`] (`memory`, `env`...).
    pub field: &'static str,
    pub message: String,
}

fn field_error(field: &'static str, message: impl Into<String>) -> FieldError {
    FieldError {
        field,
        message: message.into(),
    }
}

/// A restart policy.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Restart {
    #[default]
    No,
    Always,
    UnlessStopped,
    /// With the most retries, when given.
    OnFailure(Option<i64>),
}

impl Restart {
    /// The policy's name in the API (`RestartPolicy.Name`).
    pub fn name(self) -> &'static str {
        match self {
            Restart::No => "no",
            Restart::Always => "always",
            Restart::UnlessStopped => "unless-stopped",
            Restart::OnFailure(_) => "on-failure",
        }
    }
}

/// The form, checked and parsed: what the create request carries.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Spec {
    pub image: String,
    pub name: Option<String>,
    /// Empty: the image's own command.
    pub cmd: Vec<String>,
    pub env: Vec<String>,
    /// `HostConfig.Binds`: `SOURCE:TARGET[:MODE]`.
    pub binds: Vec<String>,
    /// `HostConfig.Tmpfs`: target and options (possibly empty).
    pub tmpfs: Vec<(String, String)>,
    pub restart: Restart,
    /// Bytes.
    pub memory: Option<i64>,
    /// Billionths of a CPU.
    pub nano_cpus: Option<i64>,
    pub tty: bool,
    pub interactive: bool,
    pub auto_remove: bool,
}

impl Spec {
    /// The body of `POST /containers/create`, as `docker run -d` sends it for these flags (with `-d`,
    /// nothing is attached). Built as JSON rather than as client-core's `ContainerCreateBody`: the
    /// model's serializer (HostConfig and everything under it) would add about 40 KiB gzipped to the
    /// console for a dozen fields, and client-core's `create_request_json` exists for this.
    pub fn body(&self) -> Value {
        let mut host = Map::new();
        if !self.binds.is_empty() {
            host.insert("Binds".into(), json!(self.binds));
        }
        if !self.tmpfs.is_empty() {
            let tmpfs: Map<String, Value> = self
                .tmpfs
                .iter()
                .map(|(target, options)| (target.clone(), json!(options)))
                .collect();
            host.insert("Tmpfs".into(), Value::Object(tmpfs));
        }
        let retries = match self.restart {
            Restart::OnFailure(n) => n.unwrap_or(0),
            _ => 0,
        };
        host.insert(
            "RestartPolicy".into(),
            json!({"Name": self.restart.name(), "MaximumRetryCount": retries}),
        );
        if let Some(memory) = self.memory {
            host.insert("Memory".into(), json!(memory));
        }
        if let Some(nano_cpus) = self.nano_cpus {
            host.insert("NanoCpus".into(), json!(nano_cpus));
        }
        host.insert("AutoRemove".into(), json!(self.auto_remove));
        let mut body = Map::new();
        body.insert("Image".into(), json!(self.image));
        if !self.cmd.is_empty() {
            body.insert("Cmd".into(), json!(self.cmd));
        }
        if !self.env.is_empty() {
            body.insert("Env".into(), json!(self.env));
        }
        for (key, value) in [
            ("Tty", self.tty),
            ("OpenStdin", self.interactive),
            ("AttachStdin", false),
            ("AttachStdout", false),
            ("AttachStderr", false),
            ("StdinOnce", false),
        ] {
            body.insert(key.into(), json!(value));
        }
        body.insert("HostConfig".into(), Value::Object(host));
        Value::Object(body)
    }
}

/// Checks and parses the form.
pub fn spec(form: &Form) -> Result<Spec, FieldError> {
    let image = form.image.trim();
    if image.is_empty() {
        return Err(field_error("image", "an image is needed"));
    }
    let name = Some(form.name.trim())
        .filter(|n| !n.is_empty())
        .map(str::to_owned);
    let cmd = split(&form.command).map_err(|e| field_error("command", e))?;
    let env = env_lines(&form.env).map_err(|e| field_error("env", e))?;
    let mut binds = Vec::new();
    let mut tmpfs = Vec::new();
    for line in lines(&form.mounts) {
        match mount_line(line).map_err(|e| field_error("mounts", e))? {
            MountLine::Bind(bind) => binds.push(bind),
            MountLine::Tmpfs(target, options) => tmpfs.push((target, options)),
        }
    }
    let restart = parse_restart(form.restart.trim()).map_err(|e| field_error("restart", e))?;
    if form.auto_remove && restart != Restart::No {
        return Err(field_error(
            "restart",
            "Conflicting options: --restart and --rm",
        ));
    }
    let memory = optional(&form.memory, |m| {
        parse_memory(m).map_err(|e| field_error("memory", e))
    })?;
    let nano_cpus = optional(&form.cpus, |c| {
        parse_cpus(c).map_err(|e| field_error("cpus", e))
    })?;
    Ok(Spec {
        image: image.to_owned(),
        name,
        cmd,
        env,
        binds,
        tmpfs,
        restart,
        memory,
        nano_cpus,
        tty: form.tty,
        interactive: form.interactive,
        auto_remove: form.auto_remove,
    })
}

fn optional<T>(
    text: &str,
    parse: impl FnOnce(&str) -> Result<T, FieldError>,
) -> Result<Option<T>, FieldError> {
    let text = text.trim();
    if text.is_empty() {
        Ok(None)
    } else {
        parse(text).map(Some)
    }
}

/// The non-blank lines of a text field, without a trailing `\r`.
fn lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .filter(|l| !l.trim().is_empty())
}

/// `KEY=VALUE` lines (the value as typed, spaces kept).
fn env_lines(text: &str) -> Result<Vec<String>, String> {
    lines(text)
        .map(|line| {
            let line = line.trim_start();
            match line.split_once('=') {
                Some((key, _)) if !key.is_empty() && !key.contains(char::is_whitespace) => {
                    Ok(line.to_owned())
                }
                Some(_) => Err(format!("invalid environment variable: {line}")),
                // `docker run -e KEY` copies the client's own variable; a browser has none to copy.
                None => Err(format!("{line}: KEY=VALUE expected")),
            }
        })
        .collect()
}

enum MountLine {
    Bind(String),
    Tmpfs(String, String),
}

/// The modes a bind or volume takes after its target, as dockerd accepts them.
const MOUNT_MODES: &[&str] = &[
    "ro",
    "rw",
    "z",
    "Z",
    "shared",
    "rshared",
    "slave",
    "rslave",
    "private",
    "rprivate",
    "nocopy",
    "consistent",
    "cached",
    "delegated",
];

fn mount_line(line: &str) -> Result<MountLine, String> {
    let line = line.trim();
    if let Some(rest) = line.strip_prefix("tmpfs ") {
        let rest = rest.trim();
        let (target, options) = rest.split_once(':').unwrap_or((rest, ""));
        if !target.starts_with('/') {
            return Err(format!(
                "invalid tmpfs mount: '{rest}': the target must be an absolute path"
            ));
        }
        return Ok(MountLine::Tmpfs(target.to_owned(), options.to_owned()));
    }
    let invalid = || format!("invalid volume specification: '{line}'");
    let parts: Vec<&str> = line.split(':').collect();
    let (source, target, mode) = match parts.as_slice() {
        [source, target] => (*source, *target, None),
        [source, target, mode] => (*source, *target, Some(*mode)),
        _ => return Err(invalid()),
    };
    if source.is_empty() || target.is_empty() {
        return Err(invalid());
    }
    if !target.starts_with('/') {
        return Err(format!(
            "invalid volume specification: '{line}': the target must be an absolute path"
        ));
    }
    if let Some(mode) = mode {
        if mode.split(',').any(|m| !MOUNT_MODES.contains(&m)) {
            return Err(format!("invalid mode: {mode}"));
        }
    }
    Ok(MountLine::Bind(line.to_owned()))
}

/// A restart policy as `--restart` takes it; empty is `no`.
pub fn parse_restart(text: &str) -> Result<Restart, String> {
    if text.is_empty() {
        return Ok(Restart::No);
    }
    let mut parts = text.split(':');
    let name = parts.next().unwrap_or_default();
    let count = match (parts.next(), parts.next()) {
        (None, _) => None,
        (Some(count), None) => Some(
            count
                .parse::<i64>()
                .map_err(|_| "maximum retry count must be an integer".to_owned())?,
        ),
        (Some(_), Some(_)) => return Err("invalid restart policy format".to_owned()),
    };
    let restart = match name {
        "no" => Restart::No,
        "always" => Restart::Always,
        "unless-stopped" => Restart::UnlessStopped,
        "on-failure" => {
            if count.is_some_and(|c| c < 0) {
                return Err("maximum retry count cannot be negative".to_owned());
            }
            return Ok(Restart::OnFailure(count));
        }
        other => return Err(format!("invalid restart policy '{other}'")),
    };
    match count {
        Some(_) => Err(format!(
            "maximum retry count cannot be used with restart policy '{name}'"
        )),
        None => Ok(restart),
    }
}

/// A size as `docker run -m` reads it (go-units' `RAMInBytes`): a number, an optional space, then an
/// optional `k`, `m`, `g`, `t` or `p` (powers of 1024, any case), an optional `i` and an optional `b`:
/// `256m`, `1.5g`, `512MiB`, `1048576`. The daemon reads the same syntax with client-core's
/// `units::ram_in_bytes`, in floating point as Go does; the console keeps this integer copy because
/// float parsing would add ~12 KiB to its download (measured).
pub fn parse_memory(text: &str) -> Result<i64, String> {
    let invalid = || format!("invalid size: '{text}'");
    let digits_end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(digits_end);
    let valid_number = !number.is_empty()
        && !number.starts_with('.')
        && !number.ends_with('.')
        && number.matches('.').count() <= 1;
    if !valid_number {
        return Err(invalid());
    }
    let suffix = suffix.strip_prefix(' ').unwrap_or(suffix);
    let mut chars = suffix.chars().peekable();
    let power = match chars.peek().map(char::to_ascii_lowercase) {
        Some(unit @ ('k' | 'm' | 'g' | 't' | 'p')) => {
            chars.next();
            match unit {
                'k' => 1,
                'm' => 2,
                'g' => 3,
                't' => 4,
                _ => 5,
            }
        }
        _ => 0,
    };
    if chars.peek().is_some_and(|c| c.eq_ignore_ascii_case(&'i')) {
        chars.next();
    }
    if chars.peek().is_some_and(|c| c.eq_ignore_ascii_case(&'b')) {
        chars.next();
    }
    if chars.next().is_some() {
        return Err(invalid());
    }
    // number × 1024^power, in integers (truncated as Go's int64(float64) is): no float parsing or
    // printing in the console for this.
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.len() + fraction.len() > 30 {
        return Err(invalid());
    }
    let digits: u128 = format!("{whole}{fraction}")
        .parse()
        .map_err(|_| invalid())?;
    let bytes = digits
        .checked_mul(1024u128.pow(power))
        .map(|b| b / 10u128.pow(fraction.len() as u32))
        .filter(|b| *b <= i64::MAX as u128)
        .ok_or_else(invalid)?;
    Ok(bytes as i64)
}

/// A number of CPUs as `--cpus` reads it, in billionths (`NanoCpus`): `1.5` → 1 500 000 000.
pub fn parse_cpus(text: &str) -> Result<i64, String> {
    let invalid = || format!("failed to parse {text} as a rational number");
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if (whole.is_empty() && fraction.is_empty())
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(invalid());
    }
    let fraction = fraction.trim_end_matches('0');
    if fraction.len() > 9 {
        return Err("value is too precise".to_owned());
    }
    let whole: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| invalid())?
    };
    let mut nanos = fraction.to_owned();
    while nanos.len() < 9 {
        nanos.push('0');
    }
    let nanos: i64 = nanos.parse().map_err(|_| invalid())?;
    whole
        .checked_mul(1_000_000_000)
        .and_then(|w| w.checked_add(nanos))
        .ok_or_else(invalid)
}

/// Splits `text` into words as a POSIX shell does (without expanding anything): blanks separate words,
/// `'...'` is literal, `"..."` keeps blanks and lets `\` escape `"`, `\`, `$` and `` ` ``, and `\`
/// outside quotes escapes any character.
pub fn split(text: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err("unterminated quote: '".to_owned()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => word.push(c),
                            Some('\n') => {}
                            Some(c) => {
                                word.push('\\');
                                word.push(c);
                            }
                            None => return Err("unterminated quote: \"".to_owned()),
                        },
                        Some(c) => word.push(c),
                        None => return Err("unterminated quote: \"".to_owned()),
                    }
                }
            }
            '\\' => match chars.next() {
                // A line continuation.
                Some('\n') => {}
                Some(c) => {
                    in_word = true;
                    word.push(c);
                }
                None => return Err("a \\ at the end escapes nothing".to_owned()),
            },
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

/// `arg` as a POSIX shell reads it back: as it is when it has only safe characters, else in single
/// quotes (a `'` in it as `'"'"'`).
pub fn quote(arg: &str) -> Cow<'_, str> {
    let safe = |c: char| c.is_ascii_alphanumeric() || "@%+=:,./_-".contains(c);
    if !arg.is_empty() && arg.chars().all(safe) {
        Cow::Borrowed(arg)
    } else {
        Cow::Owned(format!("'{}'", arg.replace('\'', r#"'"'"'"#)))
    }
}

/// Joins `args` into one shell line.
pub fn join(args: &[String]) -> String {
    let mut line = String::new();
    for (i, arg) in args.iter().enumerate() {
        if i > 0 {
            line.push(' ');
        }
        line.push_str(&quote(arg));
    }
    line
}

/// `docker run`'s arguments for the form, as typed (the console runs containers detached, so `-d`).
/// A field that does not parse goes in as typed, so that the line follows the user while they type.
pub fn args(form: &Form) -> Vec<String> {
    let mut args = vec!["-d".to_owned()];
    let mut flag = |name: &str, value: &str| {
        args.push(name.to_owned());
        args.push(value.to_owned());
    };
    if !form.name.trim().is_empty() {
        flag("--name", form.name.trim());
    }
    for line in lines(&form.env) {
        flag("-e", line.trim_start());
    }
    for line in lines(&form.mounts) {
        let line = line.trim();
        match line.strip_prefix("tmpfs ") {
            Some(rest) => flag("--tmpfs", rest.trim()),
            None => flag("-v", line),
        }
    }
    let restart = form.restart.trim();
    if !restart.is_empty() && restart != "no" {
        flag("--restart", restart);
    }
    if !form.memory.trim().is_empty() {
        flag("-m", form.memory.trim());
    }
    if !form.cpus.trim().is_empty() {
        flag("--cpus", form.cpus.trim());
    }
    match (form.interactive, form.tty) {
        (true, true) => args.push("-it".to_owned()),
        (true, false) => args.push("-i".to_owned()),
        (false, true) => args.push("-t".to_owned()),
        (false, false) => {}
    }
    if form.auto_remove {
        args.push("--rm".to_owned());
    }
    if !form.image.trim().is_empty() {
        args.push(form.image.trim().to_owned());
    }
    match split(&form.command) {
        Ok(words) => args.extend(words),
        Err(_) => args.extend(form.command.split_whitespace().map(str::to_owned)),
    }
    args
}

/// The `docker run` line for the form, ready to paste into a shell.
pub fn line(form: &Form) -> String {
    let mut line = String::from("docker run");
    for arg in args(form) {
        let _ = write!(line, " {}", quote(&arg));
    }
    line
}

/// The form a `docker run ...` (or `docker container run ...`) line stands for; the options the form
/// has no field for are refused by name.
pub fn form_from_line(text: &str) -> Result<Form, String> {
    let words = split(text)?;
    let rest = match words
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["docker", "run", ..] => &words[2..],
        ["docker", "container", "run", ..] => &words[3..],
        _ => return Err("not a docker run line".to_owned()),
    };
    form_from_args(rest)
}

/// The form that `docker run`'s arguments `args` (after `run`) stand for.
pub fn form_from_args(args: &[String]) -> Result<Form, String> {
    let mut form = Form::default();
    let mut env = Vec::new();
    let mut mounts = Vec::new();
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        if arg == "--" {
            if let Some(image) = iter.next() {
                form.image = image.clone();
            }
            break;
        }
        if !arg.starts_with('-') || arg == "-" {
            form.image = arg.clone();
            break;
        }
        let mut value = |name: &str, inline: Option<&str>| -> Result<String, String> {
            match inline {
                Some(v) => Ok(v.to_owned()),
                None => iter
                    .next()
                    .cloned()
                    .ok_or_else(|| format!("flag needs an argument: {name}")),
            }
        };
        if let Some(long) = arg.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (long, None),
            };
            match name {
                "detach" => {}
                "interactive" => form.interactive = true,
                "tty" => form.tty = true,
                "rm" => form.auto_remove = true,
                "name" => form.name = value(arg, inline)?,
                "env" => env.push(value(arg, inline)?),
                "volume" => mounts.push(value(arg, inline)?),
                "tmpfs" => mounts.push(format!("tmpfs {}", value(arg, inline)?)),
                "restart" => form.restart = value(arg, inline)?,
                "memory" => form.memory = value(arg, inline)?,
                "cpus" => form.cpus = value(arg, inline)?,
                _ => return Err(format!("the form has no field for --{name}")),
            }
            continue;
        }
        // A cluster of short flags: `-it`, `-dit`, `-e KEY=VALUE`, `-m256m`.
        let cluster = &arg[1..];
        for (i, c) in cluster.char_indices() {
            let attached = &cluster[i + c.len_utf8()..];
            let inline =
                (!attached.is_empty()).then(|| attached.strip_prefix('=').unwrap_or(attached));
            match c {
                'd' => {}
                'i' => form.interactive = true,
                't' => form.tty = true,
                'e' => {
                    env.push(value("-e", inline)?);
                    break;
                }
                'v' => {
                    mounts.push(value("-v", inline)?);
                    break;
                }
                'm' => {
                    form.memory = value("-m", inline)?;
                    break;
                }
                other => return Err(format!("the form has no field for -{other}")),
            }
        }
    }
    let command: Vec<String> = iter.cloned().collect();
    form.command = join(&command);
    form.env = env.join("\n");
    form.mounts = mounts.join("\n");
    Ok(form)
}

#[cfg(test)]
mod tests;
