"""The five administrative processes of the clinic network, one module each."""

from synthetic.processes.inventory import InventoryExceptions
from synthetic.processes.invoices import SupplierInvoices
from synthetic.processes.onboarding import Onboarding
from synthetic.processes.purchasing import PurchaseRequests
from synthetic.processes.service_requests import ServiceRequests

__all__ = ["InventoryExceptions", "Onboarding", "PurchaseRequests", "ServiceRequests", "SupplierInvoices"]
