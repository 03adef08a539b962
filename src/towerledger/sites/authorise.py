"""The site rule of each import's ``authorise``: a row naming a site outside the importing
user's scope is refused. Here rather than in exchange.authorise, which knows no business
app (docs/architecture.md, "Layers")."""

from towerledger.exchange.authorise import outside_rows
from towerledger.importers.schema import RowError
from towerledger.sites.models import Site


def by_site(column: str = "site_code"):
    """An ``authorise`` for kinds keyed on a site: the site must be the user's."""
    def authorise(records, importer) -> list[RowError]:
        return outside_rows(records, importer.user, Site, column)

    return authorise
