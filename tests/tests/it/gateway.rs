//! Routes on Kubernetes: the Gateway API by default (HTTPRoutes, GRPCRoutes, the stack's
//! own Gateway with cert-manager TLS, Envoy Gateway policies), an existing Gateway served
//! by another implementation, Ingresses only when a stack names their controller, the
//! NetworkPolicies that admit the chosen proxies, the README's list of what the route API
//! cannot express, and the cross-check of route references.

use serde_json::Value;
use stackdsl::prelude::*;
use stackdsl::render::k8s::{Manifests, Object, cross_check};
use stackdsl::validate::ErrorKind;
use stackdsl_tests::fixtures::grpc_gateway;
use stackdsl_tests::{corpus, files_with_suffix, manifests, render_fn, validation_errors};

const HTTP: Port = Port::http("http", 8080);

fn small() -> Resources {
    Resources::requests(Cpu::m(100), Memory::mi(64)).limits(Cpu::m(200), Memory::mi(128))
}

/// A stack that names no route API, with one TLS route.
fn shop() -> Stack {
    shop_routing(Route::host("api.example.com", HTTP).tls(ClusterIssuer::new("le")))
}

/// A stack that names no route API, whose `api` has `route`.
fn shop_routing(route: Route) -> Stack {
    let mut s = Stack::new("shop", Env::Prod);
    s.targets([Target::Kubernetes]);
    s.add(
        Service::new("api")
            .image(Image::new("acme/api").tag("1.0"))
            .port(HTTP)
            .resources(small())
            .expose(route),
    );
    s
}

fn json(m: &Manifests) -> Vec<Value> {
    m.objects().map(Object::to_json).collect()
}

fn of<'a>(objects: &'a [Value], kind: &str) -> Vec<&'a Value> {
    objects.iter().filter(|o| o["kind"] == kind).collect()
}

fn doc(docs: &[stackdsl::render::Document], suffix: &str) -> String {
    docs.iter()
        .find(|d| d.path.ends_with(suffix))
        .unwrap_or_else(|| panic!("no {suffix}"))
        .contents
        .clone()
}

#[test]
fn a_stack_that_names_no_route_api_gets_gateway_api_routes() {
    let s = shop();
    let m = manifests(&s);
    let objects = json(&m);
    assert!(of(&objects, "Ingress").is_empty());
    let gw = of(&objects, "Gateway");
    assert_eq!(gw.len(), 1);
    assert_eq!(gw[0]["spec"]["gatewayClassName"], "eg");
    assert_eq!(
        gw[0]["metadata"]["annotations"]["cert-manager.io/cluster-issuer"],
        "le"
    );
    let listeners = gw[0]["spec"]["listeners"].as_array().unwrap();
    assert_eq!(listeners[0]["name"], "http");
    assert_eq!(listeners[1]["name"], "https-api.example.com");
    assert_eq!(
        listeners[1]["tls"]["certificateRefs"][0]["name"],
        "api.example.com-tls"
    );
    let routes = of(&objects, "HTTPRoute");
    let names: Vec<&str> = routes
        .iter()
        .map(|r| r["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["shop-https-redirect", "api"]);
    assert_eq!(
        routes[0]["spec"]["rules"][0]["filters"][0]["requestRedirect"]["scheme"],
        "https"
    );
    let api = routes[1];
    assert_eq!(
        api["spec"]["parentRefs"][0]["sectionName"],
        "https-api.example.com"
    );
    assert_eq!(
        api["spec"]["rules"][0]["backendRefs"][0],
        serde_json::json!({"name": "api", "port": 8080})
    );
    // Nothing to enforce beyond the standard: no policy.
    assert!(of(&objects, "BackendTrafficPolicy").is_empty());
    // The Gateway's proxies, not ingress-nginx, may reach the routed port.
    let policy = of(&objects, "NetworkPolicy")
        .into_iter()
        .find(|p| p["metadata"]["name"] == "api")
        .unwrap();
    let from = &policy["spec"]["ingress"][0]["from"][0];
    assert_eq!(
        from["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"],
        "envoy-gateway-system"
    );
    assert_eq!(
        from["podSelector"]["matchLabels"]["gateway.envoyproxy.io/owning-gateway-name"],
        "shop"
    );
    assert_eq!(
        from["podSelector"]["matchLabels"]["gateway.envoyproxy.io/owning-gateway-namespace"],
        "shop-prod"
    );
    assert!(cross_check("shop", &m).is_empty());
    let docs = stackdsl_tests::render(&s);
    assert!(docs.iter().all(|d| !d.contents.contains("ingress-nginx")));
    let readme = doc(&docs, "k8s/README.md");
    assert!(readme.contains("`kubectl get gatewayclass eg`"), "{readme}");
    assert!(!readme.contains("### Not expressed"), "{readme}");
}

/// ingress-nginx is retired: its annotations and namespace appear only in the stacks that
/// chose it (srvthreds, potter), and the others route through Gateways.
#[test]
fn ingress_nginx_appears_only_where_a_stack_chose_it() {
    let corpus = corpus();
    let mut gateway_stacks = std::collections::BTreeSet::new();
    for f in files_with_suffix(corpus.path(), &[".yaml"]) {
        let rel = f.strip_prefix(corpus.path()).unwrap().display().to_string();
        let text = std::fs::read_to_string(&f).unwrap();
        let stack = rel.split('/').next().unwrap().to_owned();
        let chose = matches!(stack.as_str(), "srvthreds" | "potter");
        if text.contains("nginx.ingress.kubernetes.io/") || text.contains("ingress-nginx") {
            assert!(chose, "{rel} mentions ingress-nginx");
        }
        if rel.ends_with("k8s/40-gateway.yaml") {
            gateway_stacks.insert(stack);
        }
    }
    // Two seed stacks (three stacks) and the consumer route through Gateways.
    for s in [
        "tsdev-monolith",
        "tsdev-microservices",
        "easyflow",
        "platform",
    ] {
        assert!(gateway_stacks.contains(s), "{s}: {gateway_stacks:?}");
    }
    let potter = render_fn(stacks::potter::potter, Env::Prod);
    let ing = doc(&potter, "k8s/40-ingress.yaml");
    assert!(ing.contains("ingressClassName: nginx"), "{ing}");
}

#[test]
fn grpc_ports_get_grpc_routes_and_envoy_gateway_policies() {
    let s = grpc_gateway(Env::Prod);
    let m = manifests(&s);
    let objects = json(&m);
    let grpc = of(&objects, "GRPCRoute");
    assert_eq!(grpc.len(), 1);
    assert_eq!(grpc[0]["metadata"]["name"], "orders-2");
    assert_eq!(grpc[0]["spec"]["hostnames"][0], "grpc.example.com");
    assert_eq!(grpc[0]["spec"]["rules"][0]["backendRefs"][0]["port"], 9090);
    assert!(grpc[0]["spec"]["rules"][0].get("timeouts").is_none());
    let http = of(&objects, "HTTPRoute")
        .into_iter()
        .find(|r| r["metadata"]["name"] == "orders")
        .unwrap();
    assert_eq!(http["spec"]["rules"][0]["timeouts"]["request"], "30s");
    assert_eq!(http["spec"]["parentRefs"][0]["name"], "orders-edge");
    let policy = |name: &str| {
        of(&objects, "BackendTrafficPolicy")
            .into_iter()
            .find(|p| p["metadata"]["name"] == name)
            .unwrap()
            .clone()
    };
    let p = policy("orders");
    assert_eq!(p["spec"]["requestBuffer"]["limit"], "4Mi");
    assert_eq!(p["spec"]["timeout"]["tcp"]["connectTimeout"], "30s");
    let p = policy("orders-2");
    assert_eq!(p["spec"]["targetRefs"][0]["kind"], "GRPCRoute");
    assert_eq!(p["spec"]["timeout"]["http"]["requestTimeout"], "120s");
    assert_eq!(
        p["spec"]["rateLimit"]["local"]["rules"][0]["limit"]["requests"],
        20
    );
    assert!(p["spec"].get("requestBuffer").is_none(), "{p}");
    // HSTS on both TLS hosts, through the header filter.
    for r in of(&objects, "HTTPRoute").into_iter().chain(grpc) {
        if r["metadata"]["name"] == "orders-edge-https-redirect" {
            continue;
        }
        assert_eq!(
            r["spec"]["rules"][0]["filters"][0]["responseHeaderModifier"]["set"][0],
            serde_json::json!({"name": "Strict-Transport-Security", "value": "max-age=63072000"})
        );
    }
    assert!(cross_check(&s.name, &m).is_empty());
    // Compose's edge passes the same route as gRPC, over HTTP/2 on its TLS server.
    let conf = doc(&stackdsl_tests::render(&s), "nginx/nginx.conf");
    assert!(
        conf.contains(
            "location / {\n            limit_req zone=rps_20 burst=100 nodelay;\n            grpc_connect_timeout 120s;\n            grpc_send_timeout 120s;\n            grpc_read_timeout 120s;\n            grpc_pass grpc://orders_grpc;\n        }"
        ),
        "{conf}"
    );
}

#[test]
fn an_existing_gateway_gets_routes_and_the_readme_lists_what_its_owner_provides() {
    let s = grpc_gateway(Env::Staging);
    let m = manifests(&s);
    let objects = json(&m);
    assert!(of(&objects, "Gateway").is_empty());
    assert!(
        of(&objects, "BackendTrafficPolicy").is_empty(),
        "portable: standard fields only"
    );
    for r in of(&objects, "HTTPRoute")
        .into_iter()
        .chain(of(&objects, "GRPCRoute"))
    {
        assert_eq!(
            r["spec"]["parentRefs"][0],
            serde_json::json!({"name": "public", "namespace": "infra", "sectionName": "https"})
        );
    }
    let policy = of(&objects, "NetworkPolicy")
        .into_iter()
        .find(|p| p["metadata"]["name"] == "orders")
        .unwrap();
    let from = &policy["spec"]["ingress"][0]["from"][0];
    assert_eq!(
        from["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"],
        "istio-system"
    );
    assert_eq!(
        from["podSelector"]["matchLabels"]["istio"],
        "ingressgateway"
    );
    let readme = doc(&stackdsl_tests::render(&s), "k8s/README.md");
    for needle in [
        "attached to the existing Gateway `infra/public` (listener `https`)",
        "| `grpc.example.com` `/` → `orders` | rate limit 20 r/s per client (zone `rps_20`) | needs the implementation's own policy objects",
        "| `orders.example.com` `/api/` → `orders` | body size 4 MiB |",
        "| `grpc.example.com` `/` → `orders` | read timeout 120 s | a GRPCRoute has no timeouts",
        "| `orders.example.com` `/api/` → `orders` | TLS with a certificate from ClusterIssuer `letsencrypt` | Gateway `infra/public` is not the stack's",
    ] {
        assert!(readme.contains(needle), "README misses {needle}:\n{readme}");
    }
}

/// With the Gateway API, a burst Envoy cannot hold is listed in the README; with
/// ingress-nginx, whose annotations would limit differently from Compose, it is an error.
#[test]
fn what_the_route_api_cannot_express_is_listed_or_refused() {
    let build = |api: Option<RouteApi>| {
        let mut s = Stack::new("shop", Env::Prod);
        s.targets([Target::Compose, Target::Kubernetes])
            .edge(Edge::nginx());
        if let Some(api) = api {
            s.kubernetes(|k| k.routes(api));
        }
        s.add(
            Service::new("api")
                .image(Image::new("acme/api").tag("1.0"))
                .port(HTTP)
                .resources(small())
                .expose(
                    Route::host("api.example.com", HTTP)
                        .limit(RateLimit::per_client("api", 10).burst(15)),
                ),
        );
        s
    };
    let gateway = build(None);
    assert_eq!(validation_errors(&gateway), []);
    let readme = doc(&stackdsl_tests::render(&gateway), "k8s/README.md");
    assert!(
        readme.contains("| `api.example.com` `/` → `api` | burst 15 | Envoy Gateway's local limit"),
        "{readme}"
    );
    let nginx = build(Some(RouteApi::ingress(IngressController::ingress_nginx())));
    let errors = validation_errors(&nginx);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].0, ErrorKind::Unsupported);
    assert!(
        errors[0].2.contains("not a multiple of the rate"),
        "{errors:?}"
    );
}

#[test]
fn gateway_mistakes_are_reported_at_their_paths() {
    let grpc = Port::grpc("grpc", 9090);
    let mut s = Stack::new("shop", Env::Prod);
    s.targets([Target::Kubernetes])
        .kubernetes(|k| k.routes(RouteApi::gateway(Gateway::own("eg").section("https"))));
    s.add(
        Service::new("api")
            .image(Image::new("acme/api").tag("1.0"))
            .port(HTTP)
            .port(grpc)
            .resources(small())
            .expose(Route::host("a.example.com", HTTP).tls(ClusterIssuer::new("le")))
            .expose(Route::host("b.example.com", HTTP).tls(ClusterIssuer::new("other")))
            .expose(Route::host("c.example.com", grpc).path("/pkg.Orders/")),
    );
    // `api-2` is also the name of api's second route object.
    s.add(
        Service::new("api-2")
            .image(Image::new("acme/api").tag("1.0"))
            .port(HTTP)
            .resources(small())
            .expose(Route::host("d.example.com", HTTP)),
    );
    let errors = validation_errors(&s);
    let has = |kind: ErrorKind, path: &str, needle: &str| {
        assert!(
            errors
                .iter()
                .any(|(k, p, m)| *k == kind && p == path && m.contains(needle)),
            "no {kind:?} at {path} with {needle:?} in {errors:#?}"
        );
    };
    has(
        ErrorKind::InvalidValue,
        "shop.kubernetes.routes",
        "listener `https` is named for the stack's own Gateway",
    );
    has(
        ErrorKind::Unsupported,
        "shop.services[api].routes[b.example.com]",
        "ClusterIssuer `other`",
    );
    has(
        ErrorKind::Unsupported,
        "shop.services[api].routes[c.example.com]",
        "GRPCRoute matches gRPC services",
    );
    has(
        ErrorKind::DuplicateName,
        "shop.services[api-2].routes[d.example.com]",
        "route `api-2`",
    );
    assert_eq!(errors.len(), 4, "{errors:#?}");
    // Proxies of a portable implementation in the stack's own namespace would be cut off by
    // its default-deny policy.
    let mut s = shop();
    s.kubernetes(|k| {
        k.routes(RouteApi::gateway(Gateway::own("cilium").implementation(
            GatewayImpl::portable("shop-prod", [("app", "proxy")]),
        )))
    });
    let errors = validation_errors(&s);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(errors[0].2.contains("default-deny"), "{errors:#?}");
}

/// A Gateway API header filter sets at most 16 response headers, HSTS counted: 16 are
/// written, 17 refused with the count.
#[test]
fn a_gateway_header_filter_takes_at_most_16_headers() {
    let with = |headers: usize| {
        let mut edge = Edge::nginx().hsts(31_536_000);
        for i in 1..headers {
            edge = edge.header(format!("X-Header-{i}"), "1");
        }
        let mut s = shop();
        s.edge(edge);
        validation_errors(&s)
    };
    assert_eq!(with(16), []);
    let errors = with(17);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0].1, "shop.edge.headers");
    assert!(
        errors[0].2.starts_with("17 response headers"),
        "{errors:#?}"
    );
}

/// A Gateway API duration has at most 5 digits: timeouts up to 99,999 s are written, one
/// more second (read or connect) is refused at the route.
#[test]
fn gateway_timeouts_go_up_to_99999_seconds() {
    let with = |timeouts: Timeouts| {
        validation_errors(&shop_routing(
            Route::host("api.example.com", HTTP).timeouts(timeouts),
        ))
    };
    assert_eq!(with(Timeouts::all(99_999)), []);
    for over in [
        Timeouts::all(99_999).read(100_000),
        Timeouts::all(99_999).connect(100_000),
    ] {
        let errors = with(over);
        assert_eq!(errors.len(), 1, "{errors:#?}");
        assert_eq!(errors[0].1, "shop.services[api].routes[api.example.com]");
        assert!(errors[0].2.contains("more than 99999 s"), "{errors:#?}");
    }
}

fn broken(s: &Stack, f: impl FnOnce(&mut Manifests)) -> Vec<(String, String)> {
    let mut m = manifests(s);
    f(&mut m);
    cross_check(&s.name, &m)
        .into_iter()
        .map(|e| (e.path.to_string(), e.message))
        .collect()
}

fn find<'a>(m: &'a mut Manifests, key: &str) -> &'a mut Object {
    m.objects_mut()
        .find(|o| o.key() == key)
        .unwrap_or_else(|| panic!("no {key}"))
}

#[test]
fn broken_route_references_are_caught() {
    let s = grpc_gateway(Env::Prod);
    let errors = broken(&s, |m| {
        if let Object::GrpcRoute(r) = find(m, "GRPCRoute/orders-2") {
            r.spec.rules[0].backend_refs[0].port = 9999;
            r.spec.parent_refs[0].section_name = Some("https-nowhere".into());
        }
        if let Object::BackendTrafficPolicy(p) = find(m, "BackendTrafficPolicy/orders") {
            p.spec.target_refs[0].name = "gone".into();
        }
    });
    let paths: Vec<&str> = errors.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        paths,
        [
            "fixture-grpc.k8s.BackendTrafficPolicy/orders.spec.targetRefs[HTTPRoute/gone]",
            "fixture-grpc.k8s.GRPCRoute/orders-2.spec.parentRefs[orders-edge]",
            "fixture-grpc.k8s.GRPCRoute/orders-2.spec.rules[0]",
        ],
        "{errors:#?}"
    );
    assert!(errors[1].1.contains("no such listener"), "{errors:#?}");
    // The Gateway-wide policy (easyflow's TLS and timeouts) is checked the same way.
    let errors = broken(&stacks::easyflow::easyflow(Env::Prod), |m| {
        if let Object::ClientTrafficPolicy(p) = find(m, "ClientTrafficPolicy/easyflow") {
            p.spec.target_refs[0].name = "gone".into();
        }
    });
    assert_eq!(
        errors.iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>(),
        ["easyflow.k8s.ClientTrafficPolicy/easyflow.spec.targetRefs[Gateway/gone]"],
        "{errors:#?}"
    );
}

/// The acceptance oracle, from the model: every TLS issuer, rate limit and timeout a seed
/// stack's routes ask for is in the rendered objects (a Gateway listener with the issuer's
/// annotation, a policy's limit, a rule's timeout; or the Ingress's TLS and annotations),
/// and what is not expressed exactly is on the route's line of the README.
#[test]
fn every_seed_route_setting_is_expressed_or_listed() {
    let mut checked = 0;
    for f in stacks::ALL {
        for env in [Env::Staging, Env::Prod] {
            let stack = f(env);
            let plan = stackdsl::validate(&stack).unwrap_or_else(|e| panic!("{e}"));
            let docs = render_fn(*f, env);
            let file = |suffix: &str| {
                docs.iter()
                    .find(|d| d.path.ends_with(suffix))
                    .map(|d| d.contents.clone())
            };
            let readme = file("k8s/README.md").unwrap_or_default();
            let gateway: Vec<Value> = file("k8s/40-gateway.yaml")
                .map(|t| serde_saphyr::from_multiple(&t).unwrap())
                .unwrap_or_default();
            let ingresses: Vec<Value> = file("k8s/40-ingress.yaml")
                .map(|t| serde_saphyr::from_multiple(&t).unwrap())
                .unwrap_or_default();
            for (svc, r) in plan.routes(Target::Kubernetes) {
                checked += 1;
                let what = format!("{} {env} {} {}", stack.name, r.host, r.path);
                let timeouts = r.timeouts.or(stack.edge.as_ref().and_then(|e| e.timeouts));
                let line = readme
                    .lines()
                    .filter(|l| {
                        l.starts_with(&format!("| `{}` `{}` → `{}` |", r.host, r.path, svc.name))
                    })
                    .collect::<Vec<_>>()
                    .join("\n");
                if gateway.is_empty() {
                    // An Ingress of ingress-nginx: its TLS and annotations.
                    let ing = ingresses
                        .iter()
                        .find(|i| {
                            i["spec"]["rules"].as_array().unwrap().iter().any(|rule| {
                                rule["host"] == r.host.as_str()
                                    && rule["http"]["paths"]
                                        .as_array()
                                        .unwrap()
                                        .iter()
                                        .any(|p| p["path"] == r.path.as_str())
                            })
                        })
                        .unwrap_or_else(|| panic!("{what}: no Ingress"));
                    let a = &ing["metadata"]["annotations"];
                    if r.tls.is_some() {
                        assert!(
                            ing["spec"]["tls"][0]["hosts"]
                                .as_array()
                                .unwrap()
                                .iter()
                                .any(|h| h == r.host.as_str()),
                            "{what}"
                        );
                    }
                    if let Some(l) = &r.limit {
                        assert_eq!(
                            a["nginx.ingress.kubernetes.io/limit-rps"],
                            l.rps.to_string(),
                            "{what}"
                        );
                    }
                    if let Some(t) = timeouts {
                        assert_eq!(
                            a["nginx.ingress.kubernetes.io/proxy-read-timeout"],
                            t.read.to_string(),
                            "{what}"
                        );
                    }
                    continue;
                }
                let route =
                    gateway
                        .iter()
                        .find(|o| {
                            o["spec"]["hostnames"][0] == r.host.as_str()
                                && o["spec"]["rules"].as_array().unwrap().iter().any(|rule| {
                                    rule["matches"][0]["path"]["value"] == r.path.as_str()
                                })
                        })
                        .unwrap_or_else(|| panic!("{what}: no route object"));
                let name = route["metadata"]["name"].as_str().unwrap();
                if let Some(issuer) = &r.tls {
                    let gw = gateway.iter().find(|o| o["kind"] == "Gateway").unwrap();
                    assert_eq!(
                        gw["metadata"]["annotations"]["cert-manager.io/cluster-issuer"],
                        issuer.0.as_str(),
                        "{what}"
                    );
                    assert!(
                        gw["spec"]["listeners"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .any(|l| l["hostname"] == r.host.as_str() && l["protocol"] == "HTTPS"),
                        "{what}"
                    );
                }
                if let Some(l) = &r.limit {
                    let policy = gateway
                        .iter()
                        .find(|o| {
                            o["kind"] == "BackendTrafficPolicy"
                                && o["spec"]["targetRefs"][0]["name"] == name
                        })
                        .unwrap_or_else(|| panic!("{what}: no policy"));
                    assert_eq!(
                        policy["spec"]["rateLimit"]["local"]["rules"][0]["limit"]["requests"],
                        l.rps,
                        "{what}"
                    );
                    if l.burst != l.rps {
                        assert!(
                            line.contains(&format!("| burst {} |", l.burst)),
                            "{what}: burst not listed:\n{readme}"
                        );
                    }
                }
                if let Some(t) = timeouts {
                    let rule = route["spec"]["rules"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .find(|rule| rule["matches"][0]["path"]["value"] == r.path.as_str())
                        .unwrap();
                    assert_eq!(
                        rule["timeouts"]["request"],
                        format!("{}s", t.read),
                        "{what}"
                    );
                    assert!(
                        line.contains("send timeout"),
                        "{what}: per-read timeouts not listed:\n{readme}"
                    );
                }
            }
        }
    }
    // Every route of tsdev (one per stack), easyflow (three), srvthreds and potter (one
    // each), in staging and prod.
    assert_eq!(checked, 14);
}
