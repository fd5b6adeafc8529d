//! Rules for what runs beside a service: migrations and the edge.

use super::{ErrorKind, Validator};
use crate::model::{Service, Target};

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
        let one_shot = format!("{}-migrate", svc.name);
        if svc.renders_on(Target::Compose)
            && let Some(other) = self.by_name.get(one_shot.as_str())
        {
            self.err(
                ErrorKind::DuplicateName,
                path,
                format!(
                    "Compose runs the migrations of `{}` as service `{one_shot}`, but a service of that name is declared at {}",
                    svc.name, other.origin
                ),
                format!("rename the service declared at {}", other.origin),
            );
        }
    }
}
