use pacer_operator::cib::{Object, import::import_cib};
#[test]
fn tmp() {
    let dir = "/work/shared/conformance/pacemaker-2.1.5/cases";
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_none_or(|x| x != "xml") { continue }
        let Ok(objs) = import_cib(&std::fs::read_to_string(&p).unwrap()) else { continue };
        for o in &objs {
            let r = match o {
                Object::Primitive(x) => x.validate_cel(), Object::Group(x) => x.validate_cel(),
                Object::Clone(x) => x.validate_cel(), Object::Bundle(x) => x.validate_cel(),
                Object::Location(x) => x.validate_cel(), Object::Colocation(x) => x.validate_cel(),
                Object::Order(x) => x.validate_cel(), Object::Ticket(x) => x.validate_cel(),
                Object::ClusterProperties(x) => x.validate_cel(), Object::ResourceDefaults(x) => x.validate_cel(),
                Object::OperationDefaults(x) => x.validate_cel(), Object::FencingTopology(x) => x.validate_cel(),
                Object::ClusterNode(x) => x.validate_cel(), Object::NodeState(x) => x.validate_cel(),
                _ => Ok(()),
            };
            if let Err(e) = r { n += 1; if n < 25 { println!("{:?} {} {}: {e:?}", p.file_name().unwrap(), o.kind(), o.name()); } }
        }
    }
    println!("TOTAL {n}");
}
