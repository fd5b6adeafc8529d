// An endpoint (a port of another service) is not a service: `depends_on` wants the
// service handle itself.
use stackdsl::prelude::*;

fn main() {
    let mut s = Stack::new("shop", Env::Dev);
    let pg = Port::tcp("postgres", 5432);
    let db = s.add(Service::new("db").image(Image::new("postgres").tag("17.2")).port(pg));
    s.add(Service::new("api").image(Image::new("acme/api").tag("1.0")).depends_on(&db.endpoint(pg)));
}
