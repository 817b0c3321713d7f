"""The synthetic scenarios and their loaders: the seed's Ba Vì district (``orgs``: the tree, people,
accounts; ``events``: the 15/08/2023 conference, its points and assignments; ``voice``: opinions and
votes) and the national scale. Commands: ``load_demo``, ``load_demo_events``, ``load_demo_voice``,
``demo_accounts``. Nothing in the product imports this package; bench/ and tests may."""
