// An argument that is not `Serialize` must be skipped: the error points at it.
struct Connection;

#[weft::instrument("Querying {id}")]
fn query(conn: &Connection, id: u32) -> u32 {
    let _ = conn;
    id
}

fn main() {
    query(&Connection, 1);
}
