// Renderers take the `Plan` that validation returns: a stack that was not validated cannot
// be rendered.
use stackdsl::prelude::*;

fn main() {
    let mut s = Stack::new("shop", Env::Dev);
    s.add(Service::new("api").image(Image::new("acme/api").tag("1.0")));
    let _docs = stackdsl::render(&s);
}
