// A URL's password must be a secret reference; a literal string is rejected.
use stackdsl::prelude::*;

fn main() {
    let mut s = Stack::new("shop", Env::Dev);
    let pg = Port::tcp("postgres", 5432);
    let db = s.add(Service::new("db").image(Image::new("postgres").tag("17.2")).port(pg));
    let _url = db.endpoint(pg).url().scheme("postgresql").user("shop").password("hunter2");
}
