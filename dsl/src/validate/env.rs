//! Environment rules: variable names, values set twice, literal secrets, and the
//! references inside templates (services, ports, secrets).

use std::collections::BTreeMap;

use super::{ErrorKind, Validator, names};
use crate::model::{EnvValue, Service};

impl<'a> Validator<'a> {
    pub(super) fn env_rules(&mut self, svc: &Service, path: &str) {
        self.env_list_rules(&svc.env, path);
    }

    /// The rules of one container's variables (a service's, or an init container's or
    /// sidecar's), reported under `<path>.env[<name>]`.
    pub(super) fn env_list_rules(&mut self, vars: &[crate::model::EnvVar], path: &str) {
        let mut seen: BTreeMap<&str, ()> = BTreeMap::new();
        for var in vars {
            let vpath = format!("{path}.env[{}]", var.name);
            if let Some(problem) = names::env_name_problem(&var.name) {
                self.err(
                    ErrorKind::InvalidName,
                    vpath.clone(),
                    format!("variable name `{}` {problem}", var.name),
                    "use letters, digits and '_', e.g. `LOG_LEVEL`",
                );
            }
            if seen.insert(&var.name, ()).is_some() {
                self.err(
                    ErrorKind::DuplicateName,
                    vpath.clone(),
                    format!("variable `{}` is set twice", var.name),
                    "set each variable once; the later value would silently win",
                );
            }
            if let EnvValue::Template(t) = &var.value {
                let mut seen: Vec<&str> = Vec::new();
                for r in t.services() {
                    // A URL names its service twice (host and port); report it once.
                    if !seen.contains(&r.name()) {
                        seen.push(r.name());
                        self.check_ref(r, &vpath);
                    }
                }
                for part in t.parts() {
                    if let crate::model::Part::Port(e) = part {
                        self.check_endpoint_port(e.service(), e.port(), &vpath);
                    }
                }
            }
            for s in var.value.secrets() {
                self.secret_rules(s, &vpath);
            }
            if let EnvValue::Template(t) = &var.value {
                self.spliced_secret_rules(vars, &var.name, t, &vpath);
            }
        }
    }

    /// A secret spliced into a template reaches the value through a variable of its own
    /// (`$(VAR)` in Kubernetes, `${VAR}` in Compose). Another variable of the same
    /// container with that name and a different value would replace it, and the template
    /// would read that value (or itself) instead of the secret.
    fn spliced_secret_rules(
        &mut self,
        vars: &[crate::model::EnvVar],
        name: &str,
        t: &crate::model::Template,
        path: &str,
    ) {
        for s in t.secrets() {
            let var = s.var();
            let clash = vars.iter().find(|v| {
                v.name == var
                    && !matches!(&v.value, EnvValue::Secret(o) if (o.name(), o.key()) == (s.name(), s.key()))
            });
            if let Some(other) = clash {
                let what = if other.name == name {
                    "this variable itself".to_owned()
                } else {
                    format!("variable `{}` of the same container", other.name)
                };
                self.err(
                    ErrorKind::DuplicateName,
                    path.to_owned(),
                    format!(
                        "secret `{}`/`{}` is spliced in through the variable `{var}`, but {what} has that name: the value would read it instead of the secret",
                        s.name(),
                        s.key()
                    ),
                    format!(
                        "give the secret a variable of its own, e.g. `.var_name(\"{var}_SECRET\")`"
                    ),
                );
            }
        }
    }

    pub(crate) fn secret_rules(&mut self, s: &crate::model::SecretRef, path: &str) {
        if let Some(problem) = names::dns1123_problem(s.name()) {
            self.err(
                ErrorKind::InvalidName,
                path.to_owned(),
                format!("secret name `{}` {problem}", s.name()),
                "name Kubernetes Secrets with DNS-1123 labels, e.g. `app-secrets`",
            );
        }
        let key_ok = !s.key().is_empty()
            && !matches!(s.key(), "." | "..")
            && s.key().len() <= 253
            && s.key()
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if !key_ok {
            self.err(
                ErrorKind::InvalidName,
                path.to_owned(),
                format!("secret key `{}` is not a valid Secret key", s.key()),
                "use letters, digits, '-', '_' and '.' (and not `.` or `..` alone)",
            );
        }
        if let Some(d) = s.description()
            && d.chars().any(char::is_control)
        {
            self.err(
                ErrorKind::InvalidValue,
                path.to_owned(),
                format!(
                    "the description of secret `{}`/`{}` contains a line break or control character",
                    s.name(),
                    s.key()
                ),
                "descriptions are one line in `.env.example` and the README; remove the line break",
            );
        }
        if let Some(problem) = names::env_name_problem(&s.var()) {
            self.err(
                ErrorKind::InvalidName,
                path.to_owned(),
                format!("secret variable `{}` {problem}", s.var()),
                "set a valid name with `.var_name(\"MY_SECRET\")`",
            );
        }
    }

    /// Two different secrets must not share a variable name: Compose `.env` and CI secrets
    /// would silently hand one value to both.
    pub(super) fn secret_var_rules(&mut self) {
        let stack = self.stack;
        let mut vars: BTreeMap<String, (&crate::model::SecretRef, &Service)> = BTreeMap::new();
        for svc in &stack.services {
            for s in svc.secrets() {
                let var = s.var();
                match vars.get(&var) {
                    Some((prev, owner)) if (prev.name(), prev.key()) != (s.name(), s.key()) => {
                        self.err(
                            ErrorKind::DuplicateName,
                            self.svc_path(svc),
                            format!(
                                "secret `{}`/`{}` and secret `{}`/`{}` (used by service `{}`) both map to the variable `{var}`",
                                s.name(),
                                s.key(),
                                prev.name(),
                                prev.key(),
                                owner.name
                            ),
                            "give one of them its own variable with `.var_name(\"…\")`",
                        );
                    }
                    Some(_) => {}
                    None => {
                        vars.insert(var, (s, svc));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::model::{Env, Image, SecretRef, Service};
    use crate::validate::ErrorKind::*;
    use crate::validate::testing::{found, stack};

    fn api() -> crate::builder::ServiceBuilder<crate::builder::HasImage> {
        Service::new("api").image(Image::new("a").tag("1"))
    }

    #[test]
    fn variables_have_valid_names_and_are_set_once() {
        let s = stack(Env::Dev, [api().env("1X", "a").env("A", "1").env("A", "2")]);
        assert_eq!(
            found(&s),
            [
                (InvalidName, "t.services[api].env[1X]".to_owned()),
                (DuplicateName, "t.services[api].env[A]".to_owned()),
            ]
        );
    }

    #[test]
    fn secret_looking_names_need_a_reference_or_a_reason() {
        let s = stack(
            Env::Dev,
            [api().env("DB_PASSWORD", "hunter2").config("API_TOKEN", "x")],
        );
        assert_eq!(
            found(&s),
            [
                (SecretLiteral, "t.services[api].env[DB_PASSWORD]".to_owned()),
                (SecretLiteral, "t.services[api].env[API_TOKEN]".to_owned()),
            ]
        );
        let waived = stack(
            Env::Dev,
            [api().env_not_secret("TOKEN_TTL", "3600", "a duration")],
        );
        assert_eq!(found(&waived), []);
        let referenced = stack(
            Env::Dev,
            [api().env("DB_PASSWORD", SecretRef::new("s", "pw"))],
        );
        assert_eq!(found(&referenced), []);
    }

    #[test]
    fn a_url_with_a_literal_password_is_a_secret_literal() {
        let s = stack(
            Env::Dev,
            [api().env("DATABASE_URL", "postgres://u:pw@db/app")],
        );
        assert_eq!(
            found(&s),
            [(
                SecretLiteral,
                "t.services[api].env[DATABASE_URL]".to_owned()
            )]
        );
    }

    #[test]
    fn secret_references_are_valid_names() {
        let s = stack(
            Env::Dev,
            [api().env("PW", SecretRef::new("Bad_Name", "a/b"))],
        );
        let kinds: Vec<_> = found(&s).into_iter().map(|(k, _)| k).collect();
        assert_eq!(kinds, [InvalidName, InvalidName]);
    }

    #[test]
    fn a_spliced_secret_needs_a_variable_no_other_value_takes() {
        let pw = |var: &str| SecretRef::new("db", "password").var_name(var);
        // The template's own name, and another variable's, replace the secret's variable.
        let own = stack(
            Env::Dev,
            [api().env(
                "URL",
                crate::model::Template::new()
                    .text("postgres://app:")
                    .secret(&pw("URL"))
                    .text("@db/app"),
            )],
        );
        assert_eq!(
            found(&own),
            [(DuplicateName, "t.services[api].env[URL]".to_owned())]
        );
        let other = stack(
            Env::Dev,
            [api()
                .env("PGPASS", "not-the-secret")
                .env("URL", crate::model::Template::new().secret(&pw("PGPASS")))],
        );
        assert_eq!(
            found(&other),
            [(DuplicateName, "t.services[api].env[URL]".to_owned())]
        );
        // The same secret under that name is the helper itself: fine.
        let same = stack(
            Env::Dev,
            [api()
                .env("PGPASS", pw("PGPASS"))
                .env("URL", crate::model::Template::new().secret(&pw("PGPASS")))],
        );
        assert_eq!(found(&same), []);
    }

    #[test]
    fn two_secrets_may_not_share_a_variable() {
        let a = SecretRef::new("s", "a").var_name("PW");
        let b = SecretRef::new("s", "b").var_name("PW");
        let s = stack(
            Env::Dev,
            [
                api().env("A", a),
                Service::new("web")
                    .image(Image::new("w").tag("1"))
                    .env("B", b),
            ],
        );
        assert_eq!(found(&s), [(DuplicateName, "t.services[web]".to_owned())]);
    }
}
