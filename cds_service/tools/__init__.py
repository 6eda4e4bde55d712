"""Developer tools behind the `nxp2-cds` command: settings documentation and requests built from fixtures."""
