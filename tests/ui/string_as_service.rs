// Dependencies are handles, never strings: a typo cannot compile.
use stackdsl::prelude::*;

fn main() {
    let mut s = Stack::new("shop", Env::Dev);
    s.add(Service::new("db").image(Image::new("postgres").tag("17.2")));
    s.add(Service::new("api").image(Image::new("acme/api").tag("1.0")).depends_on("db"));
}
