import HasskitCLI

Hasskit.main()
