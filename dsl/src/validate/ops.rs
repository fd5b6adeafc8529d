//! Migration rules: the command, and the variables it references.

use super::{ErrorKind, Validator};
use crate::model::Service;

impl<'a> Validator<'a> {
    pub(super) fn migration_rules(&mut self, svc: &'a Service, path: &str) {
        let Some(m) = &svc.migrations else {
            return;
        };
        let path = format!("{path}.migrations");
        if m.argv.is_empty() || m.argv[0].trim().is_empty() {
            self.err(
                ErrorKind::InvalidValue,
                path.clone(),
                "the migration command is empty",
                "name the tool and its arguments, e.g. `Migration::command([\"alembic\", \"upgrade\", \"head\"])`",
            );
        }
        for var in m.variables() {
            if !svc.env.iter().any(|v| v.name == var) {
                let known: Vec<&str> = svc.env.iter().map(|v| v.name.as_str()).collect();
                self.err(
                    ErrorKind::InvalidValue,
                    path.clone(),
                    format!(
                        "the migration command references `$({var})`, which service `{}` does not set",
                        svc.name
                    ),
                    format!(
                        "set `{var}` on the service with `.env(…)`, or reference one it sets ({})",
                        if known.is_empty() { "it sets none".to_owned() } else { known.join(", ") }
                    ),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::model::{Env, Image, Migration, Service};
    use crate::validate::ErrorKind::*;
    use crate::validate::testing::{found, stack};

    #[test]
    fn a_migration_has_a_command_and_reads_variables_the_service_sets() {
        let empty: [&str; 0] = [];
        let s = stack(
            Env::Dev,
            [Service::new("api")
                .image(Image::new("a").tag("1"))
                .migrations(Migration::command(empty))],
        );
        assert_eq!(
            found(&s),
            [(InvalidValue, "t.services[api].migrations".to_owned())]
        );
        let s = stack(
            Env::Dev,
            [Service::new("api")
                .image(Image::new("a").tag("1"))
                .env("DATABASE_URL", "postgres://db/app")
                .migrations(Migration::command(["migrate", "$(DB_URL)"]))],
        );
        assert_eq!(
            found(&s),
            [(InvalidValue, "t.services[api].migrations".to_owned())]
        );
    }
}
