//! Rules for handles: a [`Stack::update`] through a handle that names no service of the
//! stack.
//!
//! `update` cannot fail where it is called (it returns the stack, for chaining), so it
//! records the call and changes nothing; this rule turns the record into an error naming
//! both places a reader needs: where the handle's service was declared and where the
//! update was written.

use super::{Error, ErrorKind, Errors};
use crate::model::Stack;

/// One error per update whose handle matched no service of `stack`, in call order.
pub(super) fn update_rules(stack: &Stack, errors: &mut Errors) {
    for stray in &stack.stray_updates {
        let handle = &stray.handle;
        let (whose, hint) = if handle.stack() == stack.name {
            (
                format!("service `{}`", handle.name()),
                "use the handle this stack returned for the service (`Stack::add`, `Stack::backing`, or `Included::service` after `Stack::include`); a separately built stack of the same name has services of its own",
            )
        } else {
            (
                format!("service `{}` of stack `{}`", handle.name(), handle.stack()),
                "include that stack first (`Stack::include`) and update the handle its `Included::service` returns, or add the service to this stack and update the handle `Stack::add` returns",
            )
        };
        errors.push(Error::new(
            ErrorKind::UnknownService,
            format!("{}.update[{}]", stack.name, handle.name()),
            format!(
                "`Stack::update` at {} changes {whose} (declared at {}), which is not in stack `{}`; nothing was changed",
                stray.at,
                handle.origin(),
                stack.name
            ),
            hint,
        ));
    }
}

#[cfg(test)]
mod tests {
    use crate::model::{Env, Image, Origin, Service, Stack};
    use crate::synth::validate;
    use crate::validate::{Error, ErrorKind};

    fn image() -> Image {
        Image::new("acme/app").tag("1.0.0")
    }

    /// The errors of this rule only (the stacks below are otherwise valid).
    fn stray_errors(s: &Stack) -> Vec<Error> {
        match validate(s) {
            Ok(_) => Vec::new(),
            Err(errors) => errors
                .into_iter()
                .filter(|e| e.path.contains(".update["))
                .collect(),
        }
    }

    fn here(line: u32) -> Origin {
        Origin {
            file: file!(),
            line,
        }
    }

    #[test]
    fn a_handle_of_another_stack_names_its_declaration_and_the_update() {
        let mut billing = Stack::new("billing", Env::Dev);
        let ledger = billing.add(Service::new("ledger").image(image()));
        let declared = here(line!() - 1);
        let mut shop = Stack::new("shop", Env::Dev);
        shop.add(Service::new("api").image(image()));
        shop.update(&ledger, |b| b.replicas(2));
        let updated = here(line!() - 1);

        assert_eq!(ledger.origin(), declared);
        let errors = stray_errors(&shop);
        assert_eq!(errors.len(), 1, "{errors:?}");
        let e = &errors[0];
        assert_eq!(e.kind, ErrorKind::UnknownService);
        assert_eq!(e.path, "shop.update[ledger]");
        assert_eq!(
            e.message,
            format!(
                "`Stack::update` at {updated} changes service `ledger` of stack `billing` (declared at {declared}), which is not in stack `shop`; nothing was changed"
            )
        );
        assert!(e.hint.contains("Stack::include"), "{}", e.hint);
    }

    #[test]
    fn a_stray_update_changes_nothing() {
        let mut billing = Stack::new("billing", Env::Dev);
        // Same service name in both stacks: the handle still does not reach `shop`'s.
        let api = billing.add(Service::new("api").image(image()));
        let mut shop = Stack::new("shop", Env::Dev);
        shop.add(Service::new("api").image(image()));
        shop.update(&api, |b| b.replicas(9));
        assert_eq!(shop.service("api").unwrap().replicas, 1);
        assert_eq!(stray_errors(&shop).len(), 1);
    }

    #[test]
    fn a_handle_of_a_same_named_stack_without_the_service() {
        let mut first = Stack::new("shop", Env::Dev);
        let worker = first.add(Service::new("worker").image(image()));
        let mut second = Stack::new("shop", Env::Dev);
        second.add(Service::new("api").image(image()));
        second.update(&worker, |b| b.replicas(2));
        let updated = here(line!() - 1);

        let errors = stray_errors(&second);
        assert_eq!(errors.len(), 1, "{errors:?}");
        let e = &errors[0];
        assert_eq!(e.path, "shop.update[worker]");
        assert!(
            e.message.starts_with(&format!(
                "`Stack::update` at {updated} changes service `worker` (declared at {}), which is not in stack `shop`",
                worker.origin()
            )),
            "{}",
            e.message
        );
        assert!(e.hint.contains("same name"), "{}", e.hint);
    }

    #[test]
    fn updates_through_the_stacks_own_handles_are_not_reported() {
        let mut s = Stack::new("shop", Env::Dev);
        let api = s.add(Service::new("api").image(image()));
        s.update(&api, |b| b.replicas(2))
            .update(&api, |b| b.replicas(3));
        assert_eq!(s.service("api").unwrap().replicas, 3);
        assert!(validate(&s).is_ok());
    }

    #[test]
    fn an_included_stacks_stray_update_is_reported_by_the_includer() {
        let mut elsewhere = Stack::new("elsewhere", Env::Dev);
        let cache = elsewhere.add(Service::new("cache").image(image()));
        let mut billing = Stack::new("billing", Env::Dev);
        billing.add(Service::new("ledger").image(image()));
        billing.update(&cache, |b| b.replicas(2));
        let updated = here(line!() - 1);

        let mut platform = Stack::new("platform", Env::Dev);
        platform.include(billing, Some("billing"));
        let errors = stray_errors(&platform);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].path, "platform.update[cache]");
        assert!(
            errors[0].message.contains(&format!("at {updated} ")),
            "{}",
            errors[0].message
        );
    }

    #[test]
    fn every_stray_update_is_reported_in_call_order() {
        let mut other = Stack::new("other", Env::Dev);
        let a = other.add(Service::new("a").image(image()));
        let b = other.add(Service::new("b").image(image()));
        let mut s = Stack::new("shop", Env::Dev);
        s.add(Service::new("api").image(image()));
        s.update(&b, |x| x.replicas(2))
            .update(&a, |x| x.replicas(2));
        let paths: Vec<String> = stray_errors(&s)
            .into_iter()
            .map(|e| e.path.to_string())
            .collect();
        assert_eq!(paths, ["shop.update[b]", "shop.update[a]"]);
    }
}
