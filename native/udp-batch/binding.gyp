{
  "targets": [
    {
      "target_name": "udp_batch",
      "sources": ["udp_batch.c"],
      "cflags": ["-O2", "-Wall", "-pthread"],
      "ldflags": ["-pthread"],
      "conditions": [["OS!='linux'", {"type": "none", "sources": []}]]
    }
  ]
}
