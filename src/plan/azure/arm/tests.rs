use super::*;
use serde_json::json;

fn scope(rg: Option<&str>) -> Scope {
    Scope {
        subscription_id: "sub".into(),
        tenant_id: "tid".into(),
        location: "westeurope".into(),
        resource_group: rg.map(str::to_string),
        deployment: "d".into(),
    }
}

fn eval(expr: &str, rg: Option<&str>) -> Result<Value, ArmError> {
    let template = json!({
        "parameters": {"p": {"type": "string"}},
        "variables": {"v": "[concat(parameters('p'), '-v')]", "w": "[variables('v')]", "loop": "[variables('loop')]"},
    });
    let s = scope(rg);
    let deployments = BTreeMap::new();
    let ctx = Ctx {
        template: &template,
        params: [("p".to_string(), json!("x"))].into_iter().collect(),
        scope: &s,
        refs: &NoReferences,
        deployments: &deployments,
        stack: Default::default(),
    };
    ctx.eval_string(expr, "t")
}

#[test]
fn evaluates_the_functions_the_templates_use() {
    assert_eq!(eval("[format('{0}-{1}', parameters('p'), 'y')]", None).unwrap(), json!("x-y"));
    assert_eq!(eval("[variables('w')]", None).unwrap(), json!("x-v"));
    assert_eq!(eval("[toLower('AbC')]", None).unwrap(), json!("abc"));
    assert_eq!(eval("[[not an expression]", None).unwrap(), json!("[not an expression]"));
    assert_eq!(eval("plain", None).unwrap(), json!("plain"));
    assert_eq!(eval("[concat('it''s', '!')]", None).unwrap(), json!("it's!"));
    assert_eq!(
        eval("[resourceId('Microsoft.Network/virtualNetworks/subnets', 'n', 's')]", Some("rg")).unwrap(),
        json!("/subscriptions/sub/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/n/subnets/s")
    );
    assert_eq!(
        eval("[resourceId(subscription().subscriptionId, 'g', 'Microsoft.Resources/deployments', 'x')]", None).unwrap(),
        json!("/subscriptions/sub/resourceGroups/g/providers/Microsoft.Resources/deployments/x")
    );
    assert_eq!(
        eval("[subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'abc')]", Some("rg")).unwrap(),
        json!("/subscriptions/sub/providers/Microsoft.Authorization/roleDefinitions/abc")
    );
    assert_eq!(eval("[resourceGroup().id]", Some("rg")).unwrap(), json!("/subscriptions/sub/resourceGroups/rg"));
    assert_eq!(eval("[subscription().tenantId]", None).unwrap(), json!("tid"));
    let g = eval("[guid('a', 'b')]", None).unwrap();
    assert!(is_unknown(g.as_str().unwrap()), "Azure's hash is Azure's: {g}");
    assert_eq!(g, eval("[guid('a', 'b')]", None).unwrap(), "equal inputs, equal unknowns");
    assert_ne!(g, eval("[guid('a', 'c')]", None).unwrap());
    assert!(!g.as_str().unwrap().contains('/'));
    assert_eq!(guid(&["a".into(), "b".into()]).len(), 36);
}

#[test]
fn unknown_values_stay_unknown() {
    let r = eval("[reference('/subscriptions/sub/x/y/id1', '2023-01-31').principalId]", None).unwrap();
    assert!(is_unknown(r.as_str().unwrap()), "{r}");
    let g = eval("[guid('a', reference('/subscriptions/sub/x/y/id1').principalId)]", None).unwrap();
    assert!(is_unknown(g.as_str().unwrap()));
}

#[test]
fn bad_expressions_name_the_place_and_the_problem() {
    for (expr, says) in [
        ("[uniqueString('a')]", "uniqueString"),
        ("[parameters('nope')]", "no parameter `nope`"),
        ("[variables('loop')]", "refers to itself"),
        ("[concat('a']", "expected `,` or `)`"),
        ("[resourceGroup().id]", "subscription scope"),
        ("[resourceId('Microsoft.Network/virtualNetworks/subnets', 'n')]", "needs 2 name(s)"),
        ("[frobnicate()]", "`frobnicate` is not supported"),
    ] {
        let e = eval(expr, None).unwrap_err();
        assert!(e.to_string().contains(says), "{expr}: {e}");
        assert!(e.to_string().starts_with("t:") || e.to_string().starts_with("variables.loop:"), "{e}");
    }
}

#[test]
fn expands_nested_deployments_with_their_outputs() {
    let template = json!({
        "parameters": {"name": {"type": "string"}, "prefix": {"type": "string", "defaultValue": "[concat(parameters('name'), '-p')]"}},
        "resources": [
            {"type": "Microsoft.Resources/resourceGroups", "name": "[parameters('prefix')]", "location": "westeurope",
             "metadata": {"description": "the group", "cloudgrant": {"id": "Group"}}},
            {"type": "Microsoft.Resources/deployments", "name": "inner", "resourceGroup": "[parameters('prefix')]",
             "properties": {"expressionEvaluationOptions": {"scope": "inner"},
               "parameters": {"n": {"value": "[parameters('name')]"}},
               "template": {"parameters": {"n": {"type": "string"}},
                 "resources": [
                   {"type": "Microsoft.ManagedIdentity/userAssignedIdentities", "name": "[parameters('n')]",
                    "metadata": {"cloudgrant": {"id": "Identity"}}},
                   {"type": "Microsoft.Authorization/roleAssignments",
                    "name": "[guid(parameters('n'), reference(resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', parameters('n'))).principalId)]",
                    "scope": "[format('Microsoft.KeyVault/vaults/{0}', parameters('n'))]",
                    "properties": {"principalId": "[reference(resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', parameters('n'))).principalId]"}}
                 ],
                 "outputs": {"rg": {"type": "string", "value": "[resourceGroup().name]"}}}}}
        ],
        "outputs": {"fromInner": {"type": "string", "value": "[reference(resourceId(subscription().subscriptionId, parameters('prefix'), 'Microsoft.Resources/deployments', 'inner')).outputs.rg.value]"}}
    });
    let params: Map<String, Value> = [("name".to_string(), json!({"value": "n1"}))].into_iter().collect();
    let x = expand(&template, &params, &scope(None), &NoReferences).unwrap();
    assert_eq!(x.resources.len(), 4);
    assert_eq!(x.resources[0].resource_id.as_deref(), Some("/subscriptions/sub/resourceGroups/n1-p"));
    assert_eq!(x.resources[0].id.as_deref(), Some("Group"));
    assert_eq!(x.resources[0].why, "the group");
    assert_eq!(
        x.resources[2].resource_id.as_deref(),
        Some("/subscriptions/sub/resourceGroups/n1-p/providers/Microsoft.ManagedIdentity/userAssignedIdentities/n1")
    );
    assert_eq!(x.resources[2].deployment, "inner");
    let ra = &x.resources[3];
    assert_eq!(ra.name, None, "a name built from a principal id is Azure's");
    assert_eq!(
        ra.scope.as_deref(),
        Some("/subscriptions/sub/resourceGroups/n1-p/providers/Microsoft.KeyVault/vaults/n1")
    );
    assert!(is_unknown(ra.properties["principalId"].as_str().unwrap()));
    assert_eq!(x.outputs["fromInner"], json!("n1-p"));

    struct Known;
    impl References for Known {
        fn reference(&self, id: &str, _: bool) -> Option<Value> {
            id.contains("userAssignedIdentities").then(|| json!({"principalId": "pid-1"}))
        }
        fn guid(&self, parts: &[String]) -> Option<String> {
            Some(guid(parts))
        }
    }
    let y = expand(&template, &params, &scope(None), &Known).unwrap();
    assert_eq!(y.resources[3].properties["principalId"], json!("pid-1"));
    assert!(y.resources[3].name.is_some());
}

#[test]
fn refuses_what_it_cannot_evaluate() {
    let copy = json!({"resources": [{"type": "A.B/c", "name": "x", "copy": {"name": "l", "count": 2}}]});
    let e = expand(&copy, &Map::new(), &scope(None), &NoReferences).unwrap_err();
    assert!(e.to_string().contains("resources[0]") && e.to_string().contains("copy"), "{e}");
    let extra: Map<String, Value> = [("zz".to_string(), json!({"value": 1}))].into_iter().collect();
    let e = expand(&json!({"resources": []}), &extra, &scope(None), &NoReferences).unwrap_err();
    assert!(e.to_string().contains("`zz`"), "{e}");
    let missing = json!({"parameters": {"a": {"type": "string"}}, "resources": []});
    let e = expand(&missing, &Map::new(), &scope(None), &NoReferences).unwrap_err();
    assert!(e.to_string().contains("parameters.a"), "{e}");
}
