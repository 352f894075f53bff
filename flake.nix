{
  description = "stairkv: an elastic in-memory key-value store on the C++ Actor Framework, speaking the Redis protocol";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-24.05";

  outputs = { self, nixpkgs }:
    let
      systems = [ "x86_64-linux" "aarch64-linux" ];
      forAll = f: nixpkgs.lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});

      # stairkv targets CAF 0.17.6 (what Debian 12 ships); nixpkgs carries CAF 1.x,
      # whose API differs, so the exact release is pinned from its source tag.
      caf_0_17_6 = pkgs: pkgs.stdenv.mkDerivation {
        pname = "actor-framework";
        version = "0.17.6";
        src = pkgs.fetchFromGitHub {
          owner = "actor-framework";
          repo = "actor-framework";
          rev = "0.17.6"; # f7d4fc7ac679e18ba385f64434f8015c3cea9cb5
          hash = "sha256-31bQuAb0qYRfTjMdWpgLq4GpVVX0Vzj2Zra33ZgU8Q4=";
        };
        nativeBuildInputs = [ pkgs.cmake ];
        cmakeFlags = [
          "-DCAF_NO_EXAMPLES=ON"
          "-DCAF_NO_UNIT_TESTS=ON"
          "-DCAF_NO_OPENSSL=ON"
          "-DCAF_NO_TOOLS=ON"
          "-DCAF_NO_PYTHON=ON"
        ];
      };

      libraries = pkgs: [
        (caf_0_17_6 pkgs)
        pkgs.abseil-cpp
        pkgs.xxHash
        pkgs.hiredis
        pkgs.protobuf
        pkgs.gtest
        pkgs.jemalloc # the node's allocator and its statistics
        pkgs.lua5_1 # scripts, with Redis's cjson and bit libraries below
        pkgs.lua51Packages.lua-cjson
        pkgs.lua51Packages.luabitop
        pkgs.openssl # libcrypto: SHA1, the names of scripts
        pkgs.liblzf # FUNCTION RESTORE of payloads Redis compressed
      ];

      # The sources include Debian's paths (<lua5.1/lua.hpp>, <liblzf/lzf.h>);
      # Nix's packages keep these headers at the top of include/, so a
      # directory of links gives them the Debian names. lua-cjson and
      # lua-bitop are Lua modules (cjson.so, bit.so), linked by their paths.
      debianHeaders = pkgs: ''
        mkdir -p debian-include/lua5.1 debian-include/liblzf
        ln -s ${pkgs.lua5_1}/include/* debian-include/lua5.1/
        ln -s $(find ${pkgs.lib.getDev pkgs.liblzf}/include -name lzf.h | head -1) debian-include/liblzf/
      '';
      luaModules = pkgs:
        let
          cjson = "${pkgs.lua51Packages.lua-cjson}/lib/lua/5.1";
          bit = "${pkgs.lua51Packages.luabitop}/lib/lua/5.1";
        in "${cjson}/cjson.so ${bit}/bit.so -Wl,-rpath,${cjson} -Wl,-rpath,${bit}";
    in
    {
      packages = forAll (pkgs: rec {
        # Bazel's offline workspace is wired to Debian's file layout, so inside the
        # Nix sandbox the server is compiled directly: every non-test source under
        # modules/, the same files the Bazel targets of //:stairkv-server use.
        stairkv-server = pkgs.stdenv.mkDerivation {
          pname = "stairkv-server";
          version = "0.1.0";
          src = ./.;
          nativeBuildInputs = [ pkgs.protobuf ];
          buildInputs = libraries pkgs;
          buildPhase = ''
            runHook preBuild
            protoc --cpp_out=. modules/persistence/records.proto
            ${debianHeaders pkgs}
            sources=$(ls modules/*/*.cpp modules/persistence/*.pb.cc | grep -v '_test\.cpp$')
            $CXX -std=c++17 -O2 -DNDEBUG -I. -Idebian-include $sources -o stairkv-server \
              -lcaf_io -lcaf_core -lprotobuf -lxxhash -ljemalloc \
              -llua ${luaModules pkgs} -lcrypto -llzf \
              -labsl_raw_hash_set -labsl_hashtablez_sampler -labsl_hash -labsl_city \
              -labsl_low_level_hash -labsl_synchronization -labsl_time -labsl_base \
              -labsl_raw_logging_internal -lpthread
            runHook postBuild
          '';
          installPhase = ''
            install -D -m 755 stairkv-server $out/bin/stairkv-server
          '';
        };
        default = stairkv-server;
      });

      devShells = forAll (pkgs: {
        default = pkgs.mkShell {
          packages = libraries pkgs ++ [
            pkgs.bazel_6
            pkgs.gcc
            pkgs.redis
            pkgs.gnuplot
            pkgs.clang-tools
          ];
        };
      });
    };
}
