//! Values every YAML reader of our files can read back.
//!
//! A multi-line value is written as a literal block scalar (`|`). When its first line
//! starts with a tab, the block's indentation cannot be detected by the go-yaml and libyaml
//! scanners behind docker compose and kubectl ("found a tab character where an indentation
//! space is expected"), although the YAML specification allows it, and the serializer
//! writes no indentation indicator for that case. Such a value is refused with its path
//! instead of writing a file the tools reject.

use super::{ErrorKind, Validator};
use crate::model::{EnvValue, Part, ProbeAction, Service, VolumeSource};

/// Would this value be written as a block scalar whose first line starts with a tab?
fn unreadable(s: &str) -> bool {
    s.contains('\n') && s.starts_with('\t')
}

const HINT: &str = "start the value with a line that does not begin with a tab (indent the first line with spaces, or begin with a line of text)";

impl Validator<'_> {
    fn unreadable_value(&mut self, path: String, what: &str) {
        self.err(
            ErrorKind::InvalidValue,
            path,
            format!("{what} is several lines long and its first line starts with a tab, which docker compose and kubectl cannot read back from YAML"),
            HINT,
        );
    }

    /// Every multi-line value of a service that YAML readers would reject.
    pub(super) fn text_rules(&mut self, svc: &Service, path: &str) {
        for var in &svc.env {
            let text = match &var.value {
                EnvValue::Plain(s) | EnvValue::Config(s) => s.clone(),
                EnvValue::Template(t) => t.render(|p| match p {
                    Part::Text(s) => s.as_str().into(),
                    _ => "x".into(),
                }),
                EnvValue::Secret(_) => continue,
            };
            if unreadable(&text) {
                self.unreadable_value(
                    format!("{path}.env[{}]", var.name),
                    &format!("`{}`", var.name),
                );
            }
        }
        let argvs = [
            ("command", svc.command.as_deref()),
            ("args", svc.args.as_deref()),
            (
                "migrations",
                svc.migrations.as_ref().map(|m| m.argv.as_slice()),
            ),
        ];
        for (field, argv) in argvs {
            for (i, arg) in argv.unwrap_or_default().iter().enumerate() {
                if unreadable(arg) {
                    self.unreadable_value(format!("{path}.{field}[{i}]"), &format!("argument {i}"));
                }
            }
        }
        for (kind, probe) in svc.probes.iter() {
            if let ProbeAction::Exec { command } = &probe.action
                && command.iter().any(|a| unreadable(a))
            {
                self.unreadable_value(format!("{path}.probes.{kind}"), "an argument of the probe");
            }
        }
        for (key, value) in &svc.annotations {
            if unreadable(value) {
                self.unreadable_value(
                    format!("{path}.annotations[{key}]"),
                    &format!("annotation `{key}`"),
                );
            }
        }
        for m in &svc.mounts {
            if let VolumeSource::File(f) = &m.source {
                let text = f.content.render(|p| match p {
                    Part::Text(s) => s.as_str().into(),
                    _ => "x".into(),
                });
                if unreadable(&text) {
                    self.unreadable_value(
                        format!("{path}.mounts[{}]", m.path),
                        &format!("generated file `{}`", f.name),
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::model::{Env, Image, Service, Template};
    use crate::validate::ErrorKind::*;
    use crate::validate::testing::{found, stack};

    #[test]
    fn a_multi_line_value_may_not_start_with_a_tab() {
        let api = || Service::new("api").image(Image::new("a").tag("1"));
        let s = stack(Env::Dev, [api().args(["\tindented\nsecond"])]);
        assert_eq!(
            found(&s),
            [(InvalidValue, "t.services[api].args[0]".to_owned())]
        );
        // A tab later in the value, or in a one-line value, reads back fine.
        let s = stack(Env::Dev, [api().args(["first\n\tsecond", "\tone line"])]);
        assert_eq!(found(&s), []);
        // A variable's value, plain or a template's text, likewise.
        let banner = Template::new().text("\tindented\n").text("second");
        let s = stack(
            Env::Dev,
            [api()
                .env("PLAIN", "\tindented\nsecond")
                .env("BANNER", banner)
                .env("FINE", Template::new().text("first\n\tsecond"))],
        );
        assert_eq!(
            found(&s),
            [
                (InvalidValue, "t.services[api].env[PLAIN]".to_owned()),
                (InvalidValue, "t.services[api].env[BANNER]".to_owned()),
            ]
        );
    }
}
