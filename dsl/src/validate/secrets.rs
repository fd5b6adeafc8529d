//! Literal secrets, at every position a stack writes a value into an artifact: environment
//! and configuration values, commands and arguments (the service's, its probes', its
//! migrations'), URLs (userinfo and query), pod annotations, mounted files, chart values,
//! backup bucket URLs, the edge's headers, CI commands and monitoring labels.
//!
//! Each value goes through [`leaks`](super::leaks): well-known token formats anywhere,
//! literals under secret-looking names, URL passwords. A secret belongs in a
//! [`SecretRef`](crate::model::SecretRef), which every target writes as a reference. A value
//! that only looks like a secret is waived with a written reason: `.env_not_secret(…)` for
//! one variable, `.not_a_secret(value, reason)` on the service (or the stack, for
//! stack-wide positions) for a literal anywhere else.

use super::leaks::{self, Finding};
use super::{ErrorKind, Validator};
use crate::model::{EnvValue, EnvVar, Part, Service, Template, VolumeSource};

/// The hint of every literal-secret error, naming the fix for the position.
fn hint(position: &str, reference: &str) -> String {
    format!(
        "{position} is written into the output in clear text: keep the secret in a `SecretRef` ({reference}); if it is not a secret, waive it with `.not_a_secret(value, \"why\")`"
    )
}

/// A template as text, with secrets written as the `${VAR}` references every target
/// resolves them to, so only literal text can be reported.
fn as_text(t: &Template) -> String {
    t.render(|p| match p {
        Part::Text(s) => s.as_str().into(),
        Part::Secret(s) => format!("${{{}}}", s.var()).into(),
        Part::Host(s) => s.name().into(),
        Part::Port(e) => e.port().number.to_string().into(),
    })
}

impl Validator<'_> {
    fn waived(&self, waivers: &[(String, String)], finding: &Finding, text: &str) -> bool {
        let found = text.get(finding.span.clone()).unwrap_or(text);
        waivers
            .iter()
            .chain(&self.stack.not_secrets)
            .any(|(value, _)| value == found || value == text)
    }

    fn leak(&mut self, path: String, where_: &str, f: &Finding, hint_text: String) {
        self.err(
            ErrorKind::SecretLiteral,
            path,
            format!("{where_} {}", f.message()),
            hint_text,
        );
    }

    /// Literal secrets among environment variables (a service's or one of its containers').
    fn env_secret_rules(&mut self, env: &[EnvVar], waivers: &[(String, String)], path: &str) {
        for var in env {
            let text = match &var.value {
                EnvValue::Plain(s) | EnvValue::Config(s) => s.clone(),
                EnvValue::Template(t) => as_text(t),
                EnvValue::Secret(_) => continue,
            };
            if var.not_secret.is_some() {
                continue;
            }
            if let Some(f) = leaks::check_value(Some(&var.name), &text)
                && !self.waived(waivers, &f, &text)
            {
                let reference = if matches!(var.value, EnvValue::Template(_)) {
                    "build the URL with `endpoint.url().user(…).password(&secret)`".to_owned()
                } else {
                    format!(
                        "`.env(\"{}\", SecretRef::new(\"{}-secrets\", \"{}\"))`; a variable that is not a secret: `.env_not_secret(name, value, reason)`",
                        var.name,
                        self.stack.name,
                        var.name.to_ascii_lowercase().replace('_', "-")
                    )
                };
                self.leak(
                    format!("{path}.env[{}]", var.name),
                    &format!("`{}`", var.name),
                    &f,
                    hint("the variable", &reference),
                );
            }
        }
    }

    /// Literal secrets among the arguments of a command (`field` names it in the path).
    fn argv_secret_rules(
        &mut self,
        field: &str,
        argv: &[String],
        waivers: &[(String, String)],
        path: &str,
    ) {
        for (i, f) in leaks::scan_argv(argv) {
            if !self.waived(waivers, &f, &argv[i]) {
                self.leak(
                    format!("{path}.{field}[{i}]"),
                    &format!("argument {i} of the {field}"),
                    &f,
                    hint(
                        "an argument",
                        "set it as an environment variable from a `SecretRef` and reference it as `$(VAR)`",
                    ),
                );
            }
        }
    }

    /// Every literal secret in one service's values.
    pub(super) fn service_secret_rules(&mut self, svc: &Service, path: &str) {
        let waivers = &svc.not_secrets;
        self.env_secret_rules(&svc.env, waivers, path);
        let argvs = [
            ("command", svc.command.as_deref()),
            ("args", svc.args.as_deref()),
            (
                "migrations",
                svc.migrations.as_ref().map(|m| m.argv.as_slice()),
            ),
        ];
        for (field, argv) in argvs {
            self.argv_secret_rules(field, argv.unwrap_or_default(), waivers, path);
        }
        for (slot, c) in svc.containers_by_slot() {
            let cpath = format!("{path}.{slot}[{}]", c.name);
            self.env_secret_rules(&c.env, waivers, &cpath);
            for (field, argv) in [("command", &c.command), ("args", &c.args)] {
                self.argv_secret_rules(field, argv.as_deref().unwrap_or_default(), waivers, &cpath);
            }
        }
        for (kind, probe) in svc.probes.iter() {
            if let crate::model::ProbeAction::Exec { command } = &probe.action {
                for (i, f) in leaks::scan_argv(command) {
                    if !self.waived(waivers, &f, &command[i]) {
                        self.leak(
                            format!("{path}.probes.{kind}"),
                            &format!("argument {i} of the {kind} probe"),
                            &f,
                            hint(
                                "a probe command",
                                "read it from the environment inside the command",
                            ),
                        );
                    }
                }
            }
        }
        for (key, value) in &svc.annotations {
            if let Some(f) = leaks::check_value(Some(key), value)
                && !self.waived(waivers, &f, value)
            {
                self.leak(
                    format!("{path}.annotations[{key}]"),
                    &format!("annotation `{key}`"),
                    &f,
                    hint(
                        "an annotation",
                        "annotations are readable by anyone who can list pods",
                    ),
                );
            }
        }
        for m in &svc.mounts {
            if let VolumeSource::File(file) = &m.source {
                let text = as_text(&file.content);
                for f in leaks::scan(&text) {
                    if !self.waived(waivers, &f, &text) {
                        self.leak(
                            format!("{path}.mounts[{}]", m.path),
                            &format!("generated file `{}`", file.name),
                            &f,
                            hint(
                                "a generated file",
                                "pass the secret as an environment variable and reference it from the file",
                            ),
                        );
                    }
                }
            }
        }
        match svc.backing.as_ref().map(|b| &b.install) {
            Some(crate::model::Install::Chart(release)) => {
                for file in &release.values {
                    self.json_secret_rules(
                        &file.values,
                        &format!("{path}.helm_values[{}]", file.concern),
                        waivers,
                    );
                }
            }
            Some(crate::model::Install::Operator(o)) => {
                for r in &o.resources {
                    self.json_secret_rules(
                        &r.spec,
                        &format!("{path}.custom_resources[{}/{}]", r.kind, r.name),
                        waivers,
                    );
                }
            }
            None => {}
        }
        if let Some(crate::model::BackupTarget::Bucket(bucket)) =
            svc.backup.as_ref().map(|b| &b.target)
        {
            for (field, value) in [
                ("url", Some(&bucket.url)),
                ("endpoint", bucket.endpoint.as_ref()),
            ] {
                let Some(value) = value else { continue };
                if let Some(f) = leaks::check_value(None, value)
                    && !self.waived(waivers, &f, value)
                {
                    self.leak(
                        format!("{path}.backup.bucket.{field}"),
                        &format!("the backup bucket's {field}"),
                        &f,
                        hint(
                            "a bucket URL",
                            "credentials go in the bucket's access-key `SecretRef`s",
                        ),
                    );
                }
            }
        }
        for (value, reason) in waivers {
            if reason.trim().is_empty() {
                self.err(
                    ErrorKind::InvalidValue,
                    format!("{path}.not_secrets"),
                    format!("a literal is declared not a secret without a reason (`{}`)", preview(value)),
                    "say why it is not a secret, e.g. `.not_a_secret(\"…\", \"a public demo key\")`",
                );
            }
        }
    }

    /// Every string of a JSON value (chart values), judged under its key.
    fn json_secret_rules(
        &mut self,
        v: &serde_json::Value,
        path: &str,
        waivers: &[(String, String)],
    ) {
        match v {
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    if let serde_json::Value::String(s) = v {
                        if let Some(f) = leaks::check_value(Some(k), s)
                            && !self.waived(waivers, &f, s)
                        {
                            self.leak(
                                format!("{path}.{k}"),
                                &format!("chart value `{k}`"),
                                &f,
                                hint(
                                    "a chart value",
                                    "the catalog passes secrets to Helm with `set_sensitive`",
                                ),
                            );
                        }
                    } else {
                        self.json_secret_rules(v, &format!("{path}.{k}"), waivers);
                    }
                }
            }
            serde_json::Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    self.json_secret_rules(v, &format!("{path}[{i}]"), waivers);
                }
            }
            serde_json::Value::String(s) => {
                for f in leaks::scan(s) {
                    if !self.waived(waivers, &f, s) {
                        self.leak(
                            path.to_owned(),
                            "a chart value",
                            &f,
                            hint(
                                "a chart value",
                                "the catalog passes secrets to Helm with `set_sensitive`",
                            ),
                        );
                    }
                }
            }
            _ => {}
        }
    }

    /// Literal secrets in the stack's own settings: the edge's headers, the CI commands and
    /// the labels monitoring objects carry.
    pub(super) fn stack_secret_rules(&mut self) {
        let stack = self.stack;
        let name = &stack.name;
        let none: &[(String, String)] = &[];
        if let Some(edge) = &stack.edge {
            for (header, value) in &edge.headers {
                if let Some(f) = leaks::check_value(Some(header), value)
                    && !self.waived(none, &f, value)
                {
                    self.leak(
                        format!("{name}.edge.headers[{header}]"),
                        &format!("edge header `{header}`"),
                        &f,
                        hint(
                            "a response header",
                            "a header the edge adds is public: never put a credential in it",
                        ),
                    );
                }
            }
        }
        if let Some(crate::model::Language::Go {
            generate_check: Some(cmd),
            ..
        }) = stack.ci.as_ref().map(|c| &c.language)
        {
            for f in leaks::scan(cmd) {
                if !self.waived(none, &f, cmd) {
                    self.leak(
                        format!("{name}.ci.generate_check"),
                        "the CI generate check",
                        &f,
                        hint("a CI command", "CI reads secrets as `${{ secrets.NAME }}`; never write one into the workflow"),
                    );
                }
            }
        }
        for (k, v) in &stack.kubernetes.prometheus_selector {
            if let Some(f) = leaks::check_value(Some(k), v)
                && !self.waived(none, &f, v)
            {
                self.leak(
                    format!("{name}.kubernetes.prometheus_selector[{k}]"),
                    &format!("label `{k}`"),
                    &f,
                    hint(
                        "a label",
                        "labels are readable by anyone who can list objects",
                    ),
                );
            }
        }
        for (value, reason) in &stack.not_secrets {
            if reason.trim().is_empty() {
                self.err(
                    ErrorKind::InvalidValue,
                    format!("{name}.not_secrets"),
                    format!("a literal is declared not a secret without a reason (`{}`)", preview(value)),
                    "say why it is not a secret, e.g. `.not_a_secret(\"…\", \"a public demo key\")`",
                );
            }
        }
    }
}

/// The start of a waived value, for a message (never the whole of something that may be
/// a secret).
fn preview(value: &str) -> String {
    let head: String = value.chars().take(4).collect();
    if value.chars().count() > 4 {
        format!("{head}…")
    } else {
        head
    }
}
