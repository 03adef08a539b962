"""towerledger: site-level electricity fees for tower-sharing companies (铁塔电费管理)."""

__version__ = "0.1.0"
