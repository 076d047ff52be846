//! Which networks may reach a resource, in one line, from the properties that decide it: an
//! Azure firewall (`networkAcls`), a closed public endpoint, a subnet's service endpoints, an AWS
//! VPC endpoint. The preview shows it beside the resource, so a restriction the templates set is
//! seen before it is granted (docs/hardening.md says what each one means).

use serde_json::Value;

fn strings<'a>(v: Option<&'a Value>, key: &str) -> Vec<&'a str> {
    v.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|x| if key.is_empty() { x.as_str() } else { x.get(key).and_then(Value::as_str) })
        .collect()
}

/// `subnet machines of acmeml-demo-vnet` for a subnet's id; the id itself when it is not one.
fn subnet_words(id: &str) -> String {
    let parts: Vec<&str> = id.split('/').collect();
    let after =
        |key: &str| parts.iter().position(|p| p.eq_ignore_ascii_case(key)).and_then(|i| parts.get(i + 1)).copied();
    match (after("virtualNetworks"), after("subnets")) {
        (Some(vnet), Some(subnet)) => format!("subnet {subnet} of {vnet}"),
        _ => id.to_string(),
    }
}

fn azure_firewall(acls: &Value) -> String {
    let default = acls.get("defaultAction").and_then(Value::as_str).unwrap_or("Allow");
    if default.eq_ignore_ascii_case("Allow") {
        return "any network (the firewall allows all)".into();
    }
    let mut allowed: Vec<String> =
        strings(acls.get("virtualNetworkRules"), "id").into_iter().map(subnet_words).collect();
    allowed.extend(strings(acls.get("ipRules"), "value").into_iter().map(|a| format!("address {a}")));
    let bypass = acls.get("bypass").and_then(Value::as_str).unwrap_or("None");
    let trusted = bypass.split(',').any(|b| b.trim().eq_ignore_ascii_case("AzureServices"));
    let mut text = if allowed.is_empty() {
        "no network: every request is refused by the firewall".to_string()
    } else {
        format!("only from {}; every other network refused", allowed.join(", "))
    };
    text.push_str(if trusted {
        "; Azure's trusted services let through"
    } else {
        "; Azure's trusted services refused too"
    });
    text
}

/// The one line for a resource of `type_` with these (evaluated) properties, or `None` when its
/// template says nothing about networks.
pub fn reach(type_: &str, props: &Value) -> Option<String> {
    if type_ == "AWS::EC2::VPCEndpoint" {
        let service = props.get("ServiceName").and_then(Value::as_str).unwrap_or("a service");
        let kind = props.get("VpcEndpointType").and_then(Value::as_str).unwrap_or("Gateway");
        let tables = strings(props.get("RouteTableIds"), "");
        let via = if tables.is_empty() { String::new() } else { format!(" for route table {}", tables.join(", ")) };
        return Some(format!("a private path to {service} ({kind} endpoint){via}"));
    }
    if let Some(acls) = props.get("networkAcls").filter(|a| a.is_object()) {
        return Some(azure_firewall(acls));
    }
    if props.get("publicNetworkAccess").and_then(Value::as_str).is_some_and(|p| p.eq_ignore_ascii_case("Disabled")) {
        return Some("no public network: private endpoints only".into());
    }
    let endpoints: Vec<String> = props
        .get("subnets")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|s| {
            let services = strings(s.pointer("/properties/serviceEndpoints"), "service");
            let name = s.get("name").and_then(Value::as_str).unwrap_or("?");
            (!services.is_empty())
                .then(|| format!("subnet {name} reaches {} directly (service endpoints)", services.join(", ")))
        })
        .collect();
    (!endpoints.is_empty()).then(|| endpoints.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SUBNET: &str =
        "/subscriptions/<subscription>/resourceGroups/g/providers/Microsoft.Network/virtualNetworks/v/subnets/machines";

    #[test]
    fn firewalls_endpoints_and_routes_read_as_one_line() {
        let closed = json!({"networkAcls": {"defaultAction": "Deny", "bypass": "AzureServices", "virtualNetworkRules": [{"id": SUBNET, "action": "Allow"}], "ipRules": []}});
        assert_eq!(
            reach("Microsoft.Storage/storageAccounts", &closed).as_deref(),
            Some("only from subnet machines of v; every other network refused; Azure's trusted services let through")
        );
        let vault = json!({"publicNetworkAccess": "Enabled", "networkAcls": {"defaultAction": "Deny", "bypass": "None", "virtualNetworkRules": [{"id": SUBNET}], "ipRules": [{"value": "203.0.113.7"}]}});
        assert_eq!(
            reach("Microsoft.KeyVault/vaults", &vault).as_deref(),
            Some("only from subnet machines of v, address 203.0.113.7; every other network refused; Azure's trusted services refused too")
        );
        let open = json!({"networkAcls": {"defaultAction": "Allow"}});
        assert_eq!(
            reach("Microsoft.Storage/storageAccounts", &open).as_deref(),
            Some("any network (the firewall allows all)")
        );
        let private = json!({"publicNetworkAccess": "Disabled"});
        assert_eq!(
            reach("Microsoft.ContainerRegistry/registries", &private).as_deref(),
            Some("no public network: private endpoints only")
        );
        let vnet = json!({"subnets": [{"name": "machines", "properties": {"serviceEndpoints": [{"service": "Microsoft.Storage"}, {"service": "Microsoft.KeyVault"}]}}]});
        assert_eq!(
            reach("Microsoft.Network/virtualNetworks", &vnet).as_deref(),
            Some("subnet machines reaches Microsoft.Storage, Microsoft.KeyVault directly (service endpoints)")
        );
        let endpoint = json!({"ServiceName": "com.amazonaws.eu-west-1.s3", "VpcEndpointType": "Gateway", "RouteTableIds": ["<RouteTable>"]});
        assert_eq!(
            reach("AWS::EC2::VPCEndpoint", &endpoint).as_deref(),
            Some("a private path to com.amazonaws.eu-west-1.s3 (Gateway endpoint) for route table <RouteTable>")
        );
        assert_eq!(reach("AWS::S3::Bucket", &json!({"BucketName": "b"})), None);
        assert_eq!(reach("Microsoft.ContainerRegistry/registries", &json!({"adminUserEnabled": false})), None);
    }
}
