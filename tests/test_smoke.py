from server.core.enums import Role
from tests.conftest import PASSWORD


async def test_login_and_me(gql, make_org):
    org = await make_org("Alpha")
    data = await gql.op("Login", {"email": "admin@alpha.test", "password": PASSWORD})
    assert data["login"]["userErrors"] == []
    token = data["login"]["session"]["accessToken"]
    me = await gql.op("Me", token=token)
    assert me["me"]["organisation"]["name"] == "Alpha"
    assert me["me"]["role"] == "ADMIN"
    areas = await gql.op("Areas", token=org.token(Role.ORGANISER))
    assert [e["node"]["name"] for e in areas["areas"]["edges"]] == ["Alpha Ward"]
