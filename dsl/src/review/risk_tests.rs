//! Each risk rule, through the whole review (parse → compare → rules → merge): a change
//! that must be flagged is, and a harmless neighbour is not.

use super::super::{Files, RiskKind, review};
use super::quantity;

/// `(kind, detail, places)` of every risk between two file sets.
fn risks(before: &[(&str, &str)], after: &[(&str, &str)]) -> Vec<(RiskKind, String, String)> {
    let files = |f: &[(&str, &str)]| -> Files {
        f.iter()
            .map(|(p, t)| ((*p).to_owned(), (*t).to_owned()))
            .collect()
    };
    review(&files(before), &files(after))
        .risks
        .into_iter()
        .map(|r| {
            let places = r.places_phrase();
            (r.kind, r.detail, places)
        })
        .collect()
}

fn kinds(before: &[(&str, &str)], after: &[(&str, &str)]) -> Vec<RiskKind> {
    risks(before, after).into_iter().map(|r| r.0).collect()
}

const K8S: &str = "shop/prod/k8s/20-api.yaml";

/// A Deployment with the given spec lines (indented under `spec:`) and container lines
/// (indented under the `api` container).
fn deployment(spec: &str, container: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\n  namespace: shop-prod\nspec:\n{spec}  template:\n    spec:\n      containers:\n        - name: api\n          image: acme/api:1.0\n{container}"
    )
}

#[test]
fn image_changes_are_flagged_with_repository_and_tags() {
    let before = deployment("  replicas: 2\n", "");
    let after = before.replace("acme/api:1.0", "acme/api:1.1");
    assert_eq!(
        risks(&[(K8S, &before)], &[(K8S, &after)]),
        [(
            RiskKind::ImageChange,
            "acme/api 1.0 → 1.1".to_owned(),
            "Deployment/api (prod)".to_owned()
        )]
    );
    // A chart version is an image change too; another attribute is not.
    let tf = |version: &str, timeout: u32| {
        format!(
            "resource \"helm_release\" \"pg\" {{\n  version = \"{version}\"\n  timeout = {timeout}\n}}\n"
        )
    };
    let path = "shop/prod/terraform/main.tf";
    assert_eq!(
        risks(&[(path, &tf("1.0.0", 600))], &[(path, &tf("1.1.0", 600))])[0].1,
        "chart version 1.0.0 → 1.1.0"
    );
    assert!(kinds(&[(path, &tf("1.0.0", 600))], &[(path, &tf("1.0.0", 900))]).is_empty());
}

#[test]
fn fewer_replicas_are_flagged_and_more_are_not() {
    let d = |n: &str| deployment(n, "");
    assert_eq!(
        risks(
            &[(K8S, &d("  replicas: 3\n"))],
            &[(K8S, &d("  replicas: 2\n"))]
        )[0],
        (
            RiskKind::ReplicasDecreased,
            "spec.replicas: 3 → 2".to_owned(),
            "Deployment/api (prod)".to_owned()
        )
    );
    // Without `replicas` a Deployment runs one.
    assert_eq!(
        kinds(&[(K8S, &d("  replicas: 3\n"))], &[(K8S, &d(""))]),
        [RiskKind::ReplicasDecreased]
    );
    assert!(
        kinds(
            &[(K8S, &d("  replicas: 2\n"))],
            &[(K8S, &d("  replicas: 3\n"))]
        )
        .is_empty()
    );
    let compose =
        |n: u32| format!("services:\n  api:\n    image: a:1\n    deploy:\n      replicas: {n}\n");
    let path = "shop/prod/compose.yaml";
    assert_eq!(
        kinds(&[(path, &compose(2))], &[(path, &compose(1))]),
        [RiskKind::ReplicasDecreased]
    );
}

#[test]
fn quantities_compare_across_units() {
    assert_eq!(quantity("500m", false), Some(0.5));
    assert_eq!(quantity("2", false), Some(2.0));
    assert_eq!(quantity("512Mi", true), Some(512.0 * 1024.0 * 1024.0));
    assert!(quantity("1Gi", true) > quantity("512Mi", true));
    assert!(quantity("512mb", true) < quantity("1gb", true));
    assert_eq!(quantity("lots", true), None);
}

#[test]
fn lower_or_dropped_resources_are_flagged() {
    let d = |limits: &str| {
        deployment(
            "",
            &format!(
                "          resources:\n            limits:\n{limits}            requests:\n              cpu: 100m\n"
            ),
        )
    };
    let before = d("              cpu: \"1\"\n              memory: 512Mi\n");
    let lower = d("              cpu: 500m\n              memory: 1Gi\n");
    assert_eq!(
        risks(&[(K8S, &before)], &[(K8S, &lower)]),
        [(
            RiskKind::ResourcesDecreased,
            "containers[api].resources.limits.cpu: 1 → 500m".to_owned(),
            "Deployment/api (prod)".to_owned()
        )]
    );
    let dropped = d("              cpu: \"1\"\n");
    assert_eq!(
        risks(&[(K8S, &before)], &[(K8S, &dropped)])[0].1,
        "containers[api].resources.limits.memory: 512Mi → (removed)"
    );
    let higher = d("              cpu: \"2\"\n              memory: 1Gi\n");
    assert!(kinds(&[(K8S, &before)], &[(K8S, &higher)]).is_empty());
}

#[test]
fn removed_objects_volumes_and_mounts_are_flagged() {
    let svc = "apiVersion: v1\nkind: Service\nmetadata:\n  name: api\n  namespace: shop-prod\nspec:\n  ports:\n    - name: http\n      port: 80\n";
    let with_svc = format!("{}---\n{svc}", deployment("", ""));
    assert_eq!(
        risks(&[(K8S, &with_svc)], &[(K8S, &deployment("", ""))]),
        [(
            RiskKind::Removed,
            "object removed".to_owned(),
            "Service/api (prod)".to_owned()
        )]
    );
    let vol = "      volumes:\n        - name: data\n          persistentVolumeClaim:\n            claimName: data\n";
    let with_vol = format!("{}{vol}", deployment("", ""));
    assert_eq!(
        risks(&[(K8S, &with_vol)], &[(K8S, &deployment("", ""))])[0].1,
        "volume volumes[data] removed"
    );
    let compose =
        |mounts: &str| format!("services:\n  db:\n    image: pg:17\n    volumes:\n{mounts}");
    let path = "shop/prod/compose.yaml";
    let both = compose("      - data:/var/lib/pg\n      - ./init:/init\n");
    let one = compose("      - ./init:/init\n");
    assert_eq!(
        risks(&[(path, &both)], &[(path, &one)])[0].1,
        "volume mount data:/var/lib/pg removed"
    );
    // Reordering mounts removes nothing.
    let swapped = compose("      - ./init:/init\n      - data:/var/lib/pg\n");
    assert!(kinds(&[(path, &both)], &[(path, &swapped)]).is_empty());
}

fn policy(spec: &str) -> String {
    format!(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: api\n  namespace: shop-prod\nspec:\n  podSelector:\n    matchLabels:\n      app: api\n{spec}"
    )
}

#[test]
fn a_network_policy_that_allows_more_is_flagged() {
    let path = "shop/prod/k8s/30-network-policies.yaml";
    let from_web = "  policyTypes: [Ingress, Egress]\n  ingress:\n    - from:\n        - podSelector:\n            matchLabels:\n              app: web\n      ports:\n        - port: 8080\n";
    let from_web_and_jobs = "  policyTypes: [Ingress, Egress]\n  ingress:\n    - from:\n        - podSelector:\n            matchLabels:\n              app: web\n        - podSelector: {}\n      ports:\n        - port: 8080\n";
    assert_eq!(
        risks(
            &[(path, &policy(from_web))],
            &[(path, &policy(from_web_and_jobs))]
        ),
        [(
            RiskKind::NetworkPolicyWidened,
            "now allows ingress from all pods on TCP/8080".to_owned(),
            "NetworkPolicy/api (prod)".to_owned()
        )]
    );
    // Narrowing is not flagged.
    assert!(
        kinds(
            &[(path, &policy(from_web_and_jobs))],
            &[(path, &policy(from_web))]
        )
        .is_empty()
    );
    // Any port, and egress no longer isolated.
    let any_port = from_web.replace("      ports:\n        - port: 8080\n", "");
    assert_eq!(
        risks(&[(path, &policy(from_web))], &[(path, &policy(&any_port))])[0].1,
        "now allows ingress from pods app=web on any port"
    );
    let ingress_only = from_web.replace("[Ingress, Egress]", "[Ingress]");
    assert_eq!(
        risks(
            &[(path, &policy(from_web))],
            &[(path, &policy(&ingress_only))]
        )[0]
        .1,
        "now allows egress is not restricted"
    );
    let kinds_removed = kinds(&[(path, &policy(from_web))], &[]);
    assert_eq!(
        kinds_removed,
        [RiskKind::Removed, RiskKind::NetworkPolicyWidened]
    );
}

#[test]
fn relaxed_security_settings_are_flagged() {
    let ctx = |lines: &str| deployment("", &format!("          securityContext:\n{lines}"));
    let strict = ctx(
        "            runAsNonRoot: true\n            allowPrivilegeEscalation: false\n            readOnlyRootFilesystem: true\n            capabilities:\n              drop: [ALL]\n",
    );
    let loose = ctx(
        "            runAsNonRoot: false\n            allowPrivilegeEscalation: true\n            readOnlyRootFilesystem: true\n            capabilities:\n              add: [NET_ADMIN]\n",
    );
    let found: Vec<String> = risks(&[(K8S, &strict)], &[(K8S, &loose)])
        .into_iter()
        .inspect(|r| assert_eq!(r.0, RiskKind::SecurityRelaxed))
        .map(|r| r.1)
        .collect();
    assert_eq!(
        found,
        [
            "containers[api].securityContext.allowPrivilegeEscalation: false → true",
            "containers[api].securityContext.capabilities.add: NET_ADMIN added",
            "containers[api].securityContext.capabilities.drop: ALL no longer set",
            "containers[api].securityContext.runAsNonRoot: true → false",
        ]
    );
    // Compose: read-only root and dropped capabilities.
    let path = "shop/prod/compose.yaml";
    let compose = |extra: &str| format!("services:\n  api:\n    image: a:1\n{extra}");
    let hardened = compose("    read_only: true\n    cap_drop:\n      - ALL\n");
    assert_eq!(
        kinds(&[(path, &hardened)], &[(path, &compose(""))]),
        [RiskKind::SecurityRelaxed, RiskKind::SecurityRelaxed]
    );
    // The namespace's Pod Security level, and a workflow job that may now write.
    let ns = |level: &str| {
        format!(
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop-prod\n  labels:\n    pod-security.kubernetes.io/enforce: {level}\n"
        )
    };
    let nsp = "shop/prod/k8s/00-namespace.yaml";
    assert_eq!(
        kinds(&[(nsp, &ns("restricted"))], &[(nsp, &ns("baseline"))]),
        [RiskKind::SecurityRelaxed]
    );
    assert!(kinds(&[(nsp, &ns("baseline"))], &[(nsp, &ns("restricted"))]).is_empty());
    let wf =
        |perm: &str| format!("jobs:\n  review:\n    permissions:\n      contents: read\n{perm}");
    let wfp = "shop/github/workflows/deploy.yml";
    assert_eq!(
        risks(
            &[(wfp, &wf(""))],
            &[(wfp, &wf("      pull-requests: write\n"))]
        )[0],
        (
            RiskKind::SecurityRelaxed,
            "permissions.pull-requests: (none) → write".to_owned(),
            "workflow deploy.yml job review (github)".to_owned()
        )
    );
}

#[test]
fn new_secret_references_are_flagged_and_existing_ones_are_not() {
    let env = |vars: &str| deployment("", &format!("          env:\n{vars}"));
    let one = "            - name: DB_PASSWORD\n              valueFrom:\n                secretKeyRef:\n                  name: shop-secrets\n                  key: db-password\n";
    let two = format!(
        "{one}            - name: JWT\n              valueFrom:\n                secretKeyRef:\n                  name: shop-secrets\n                  key: jwt\n"
    );
    assert_eq!(
        risks(&[(K8S, &env(one))], &[(K8S, &env(&two))]),
        [(
            RiskKind::NewSecret,
            "refers to shop-secrets/jwt".to_owned(),
            "Deployment/api (prod)".to_owned()
        )]
    );
    // The same secret in dev and prod Compose files is one finding in two places.
    let compose = |extra: &str| {
        format!("services:\n  api:\n    image: a:1\n    environment:\n      A: \"1\"\n{extra}")
    };
    let with = compose("      JWT: ${SHOP_JWT:?set it in .env}\n");
    let r = risks(
        &[
            ("shop/dev/compose.yaml", &compose("")),
            ("shop/prod/compose.yaml", &compose("")),
        ],
        &[
            ("shop/dev/compose.yaml", &with),
            ("shop/prod/compose.yaml", &with),
        ],
    );
    assert_eq!(
        r,
        [(
            RiskKind::NewSecret,
            "refers to ${SHOP_JWT}".to_owned(),
            "compose service api (dev, prod)".to_owned()
        )]
    );
    let wf = |env: &str| {
        format!("jobs:\n  deploy:\n    steps:\n      - name: Apply\n        run: make\n{env}")
    };
    let wfp = "shop/github/workflows/deploy.yml";
    assert_eq!(
        risks(
            &[(wfp, &wf(""))],
            &[(
                wfp,
                &wf("        env:\n          T: ${{ secrets.API_TOKEN }}\n")
            )]
        )[0]
        .1,
        "refers to secrets.API_TOKEN"
    );
}

#[test]
fn changes_only_prod_gets_are_flagged() {
    let path = |env: &str| format!("shop/{env}/k8s/20-api.yaml");
    let d = |n: u32, tag: &str| {
        deployment(&format!("  replicas: {n}\n"), "")
            .replace("acme/api:1.0", &format!("acme/api:{tag}"))
    };
    let (sp, pp) = (path("staging"), path("prod"));
    // Both get the new image; only prod gets more replicas.
    let r = risks(
        &[(&sp, &d(2, "1.0")), (&pp, &d(3, "1.0"))],
        &[(&sp, &d(2, "1.1")), (&pp, &d(4, "1.1"))],
    );
    let prod_only: Vec<&(RiskKind, String, String)> =
        r.iter().filter(|r| r.0 == RiskKind::ProdOnly).collect();
    assert_eq!(
        prod_only,
        [&(
            RiskKind::ProdOnly,
            "spec.replicas".to_owned(),
            "Deployment/api (prod)".to_owned()
        )]
    );
    // Mirrored in staging: nothing prod-only.
    let mirrored = kinds(
        &[(&sp, &d(2, "1.0")), (&pp, &d(3, "1.0"))],
        &[(&sp, &d(3, "1.0")), (&pp, &d(4, "1.0"))],
    );
    assert!(!mirrored.contains(&RiskKind::ProdOnly), "{mirrored:?}");
    // An object staging does not have is an environment difference, not a finding.
    let hpa = "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: api\n  namespace: shop-prod\nspec:\n  maxReplicas: 5\n";
    let hpa_path = "shop/prod/k8s/20-hpa.yaml";
    let added = kinds(
        &[(&sp, &d(2, "1.0")), (&pp, &d(3, "1.0"))],
        &[(&sp, &d(2, "1.0")), (&pp, &d(3, "1.0")), (hpa_path, hpa)],
    );
    assert!(added.is_empty(), "{added:?}");
}
