import strawberry
from strawberry import Info

from opsapi.accounts.graphql.types import UserType
from opsapi.graphql.scoping import current_user


@strawberry.type
class AccountsQuery:
    @strawberry.field(description="The authenticated caller.")
    def me(self, info: Info) -> UserType:
        return current_user(info)
