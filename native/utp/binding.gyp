{
  "targets": [
    {
      "target_name": "utp",
      "sources": [
        "utp_binding.cc",
        "libutp/utp_internal.cpp",
        "libutp/utp_utils.cpp",
        "libutp/utp_hash.cpp",
        "libutp/utp_callbacks.cpp",
        "libutp/utp_api.cpp",
        "libutp/utp_packedsockaddr.cpp"
      ],
      "defines": ["POSIX", "NDEBUG"],
      "cflags": ["-O2", "-Wall"],
      "cflags_cc": ["-O2", "-Wno-sign-compare", "-Wno-unused-but-set-variable", "-Wno-class-memaccess"],
      "conditions": [["OS!='linux'", {"type": "none", "sources": []}]]
    }
  ]
}
