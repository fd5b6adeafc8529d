// A service without an image (or build) cannot be added to a stack.
use stackdsl::prelude::*;

fn main() {
    let mut s = Stack::new("shop", Env::Dev);
    s.add(Service::new("api").port(Port::http("http", 3000)).replicas(2));
}
