"""kisync: exchange of integration projects between the Kommunale Integrationszentren of NRW."""

__version__ = "0.1.0"
