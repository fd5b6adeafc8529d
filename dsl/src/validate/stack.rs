//! Rules of the stack as a whole: its name, and that it has services and targets.

use super::{ErrorKind, Validator, names};

impl<'a> Validator<'a> {
    pub(super) fn stack_rules(&mut self) {
        let name = &self.stack.name;
        if let Some(problem) = names::dns1123_problem(name) {
            self.err(
                ErrorKind::InvalidName,
                name.clone(),
                format!(
                    "stack name `{name}` {problem}; it names folders and Kubernetes namespaces"
                ),
                format!(
                    "use a DNS-1123 label such as `{}`",
                    names::suggest_label(name)
                ),
            );
        } else if name.len() + 1 + self.stack.env.as_str().len() > 63 {
            self.err(
                ErrorKind::InvalidName,
                name.clone(),
                format!(
                    "stack name `{name}` is too long to form the namespace `{name}-{}`",
                    self.stack.env
                ),
                "shorten the stack name to at most 55 characters",
            );
        }
        if self.stack.services.is_empty() {
            self.err(
                ErrorKind::InvalidValue,
                name.clone(),
                "the stack has no services",
                "add at least one with `Stack::add(Service::new(…).image(…))`",
            );
        }
        if self.stack.targets.is_empty() {
            self.err(
                ErrorKind::InvalidValue,
                format!("{name}.targets"),
                "the stack renders no targets",
                "pass at least one target to `Stack::targets`, e.g. `[Target::Compose]`",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::model::{Env, Image, Service, Stack};
    use crate::validate::ErrorKind::*;
    use crate::validate::testing::found;

    #[test]
    fn a_stack_name_is_a_dns_label_short_enough_for_its_namespace() {
        let mut s = Stack::new("Shop_1", Env::Dev);
        s.add(Service::new("api").image(Image::new("a").tag("1")));
        assert_eq!(found(&s), [(InvalidName, "Shop_1".to_owned())]);
        let long = "a".repeat(56);
        let mut s = Stack::new(long.clone(), Env::Staging);
        s.add(Service::new("api").image(Image::new("a").tag("1")));
        assert!(found(&s).contains(&(InvalidName, long)));
    }

    #[test]
    fn a_stack_has_services_and_targets() {
        let mut s = Stack::new("shop", Env::Dev);
        s.targets([]);
        assert_eq!(
            found(&s),
            [
                (InvalidValue, "shop".to_owned()),
                (InvalidValue, "shop.targets".to_owned())
            ]
        );
    }
}
