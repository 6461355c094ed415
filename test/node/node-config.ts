// The test node's configuration files, as pure functions of its layout: containerd, the bridge
// CNI network, the kubelet, kube-proxy and CoreDNS. node-cluster.ts writes them and starts the
// programs; keeping the text here makes each setting and the reason for it easy to find.

/** Addresses and names of one test node; every address lives inside the test's own netns. */
export interface NodeLayout {
  readonly workDir: string
  readonly nodeName: string
  /** The node's address (the netns end of the veth pair); the host reaches the node through it. */
  readonly nodeIp: string
  readonly podCidr: string
  readonly podGateway: string
  readonly serviceCidr: string
  /** ClusterIP of the kube-dns Service, which kube-proxy sends to CoreDNS on the node address. */
  readonly dnsServiceIp: string
  /** Own cgroup subtree of this node's pods, so runs never share or leave kubepods cgroups. */
  readonly cgroupRoot: string
  readonly cgroupV2: boolean
  readonly pauseImage: string
  readonly cniBinDir: string
}

export const PORTS = Object.freeze({
  etcdClient: 2379,
  etcdPeer: 2380,
  apiserver: 6443,
  kubelet: 10250,
  kubeletHealthz: 10248,
  scheduler: 10259,
  controllerManager: 10257,
  kubeProxyHealthz: 10256,
  kubeProxyMetrics: 10249,
  moto: 5000,
  dns: 53,
})

export function containerdConfig(l: NodeLayout, socket: string): string {
  const w = l.workDir
  return `version = 3
root = '${w}/containerd/root'
state = '${w}/containerd/state'

[grpc]
  address = '${socket}'

[plugins]
  [plugins.'io.containerd.cri.v1.images']
    snapshotter = 'overlayfs'
    # The kubelet never pulls here (no registry is reachable): images are imported with ctr.
    [plugins.'io.containerd.cri.v1.images'.pinned_images]
      sandbox = '${l.pauseImage}'
  [plugins.'io.containerd.cri.v1.runtime']
    # Pod network namespaces under the state folder, so teardown finds them there.
    netns_mounts_under_state_dir = true
    enable_cdi = false
    [plugins.'io.containerd.cri.v1.runtime'.containerd]
      default_runtime_name = 'runc'
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
        runtime_type = 'io.containerd.runc.v2'
        [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
          SystemdCgroup = false
    [plugins.'io.containerd.cri.v1.runtime'.cni]
      bin_dirs = ['${l.cniBinDir}']
      conf_dir = '${w}/cni'
  [plugins.'io.containerd.grpc.v1.cri']
    disable_tcp_service = true
  [plugins.'io.containerd.internal.v1.opt']
    path = '${w}/containerd/opt'
  [plugins.'io.containerd.nri.v1.nri']
    disable = true
`
}

/** A bridge network with host-local IPAM; masquerading is off (nothing leaves the netns). */
export function cniConfig(l: NodeLayout): string {
  return JSON.stringify(
    {
      cniVersion: '1.0.0',
      name: 'iam-sidecar-test',
      plugins: [
        {
          type: 'bridge',
          bridge: 'cni0',
          isGateway: true,
          ipMasq: false,
          hairpinMode: true,
          ipam: {
            type: 'host-local',
            ranges: [[{ subnet: l.podCidr, gateway: l.podGateway }]],
            routes: [{ dst: '0.0.0.0/0' }],
            dataDir: `${l.workDir}/cni-ipam`,
          },
        },
        { type: 'loopback' },
      ],
    },
    null,
    2,
  )
}

export function kubeletConfig(
  l: NodeLayout,
  o: { caFile: string; servingCert: string; servingKey: string; socket: string },
): string {
  return JSON.stringify(
    {
      apiVersion: 'kubelet.config.k8s.io/v1beta1',
      kind: 'KubeletConfiguration',
      // Webhook authentication and authorization against the API server, as on a real node:
      // `kubectl logs` and `exec` go through them.
      authentication: {
        anonymous: { enabled: false },
        webhook: { enabled: true, cacheTTL: '10s' },
        x509: { clientCAFile: o.caFile },
      },
      authorization: { mode: 'Webhook' },
      address: l.nodeIp,
      port: PORTS.kubelet,
      healthzBindAddress: '127.0.0.1',
      healthzPort: PORTS.kubeletHealthz,
      tlsCertFile: o.servingCert,
      tlsPrivateKeyFile: o.servingKey,
      containerRuntimeEndpoint: `unix://${o.socket}`,
      cgroupDriver: 'cgroupfs',
      cgroupRoot: `/${l.cgroupRoot}`,
      // kubelet 1.37 refuses a cgroup v1 host unless told otherwise (it is still supported).
      ...(l.cgroupV2 ? {} : { failCgroupV1: false }),
      failSwapOn: false,
      clusterDNS: [l.dnsServiceIp],
      clusterDomain: 'cluster.local',
      resolvConf: `${l.workDir}/resolv.conf`,
      podLogsDir: `${l.workDir}/pod-logs`,
      enforceNodeAllocatable: [],
      // A test machine's disk and memory are shared with the rest of the run: never evict.
      evictionHard: {
        'memory.available': '1Mi',
        'nodefs.available': '1%',
        'imagefs.available': '1%',
        'nodefs.inodesFree': '1%',
      },
      imageGCHighThresholdPercent: 100,
      imageGCLowThresholdPercent: 99,
      serializeImagePulls: false,
      registerNode: true,
      maxPods: 110,
      // Faster status for tests: the pod lifecycle event generator and node status.
      nodeStatusUpdateFrequency: '4s',
      syncFrequency: '10s',
      fileCheckFrequency: '5s',
      shutdownGracePeriod: '0s',
    },
    null,
    2,
  )
}

export function kubeProxyConfig(l: NodeLayout, kubeconfig: string): string {
  return JSON.stringify(
    {
      apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
      kind: 'KubeProxyConfiguration',
      mode: 'nftables',
      clientConnection: { kubeconfig },
      hostnameOverride: l.nodeName,
      clusterCIDR: l.podCidr,
      bindAddress: l.nodeIp,
      healthzBindAddress: `127.0.0.1:${PORTS.kubeProxyHealthz}`,
      metricsBindAddress: `127.0.0.1:${PORTS.kubeProxyMetrics}`,
      // Leave the host's conntrack sysctls alone (they are not per network namespace).
      conntrack: { maxPerCore: 0, min: 0 },
      nftables: {
        syncPeriod: '5s',
        minSyncPeriod: '0s',
        // Replies from a Service backend on the same bridge would otherwise skip the node's NAT.
        masqueradeAll: true,
      },
    },
    null,
    2,
  )
}

/** Cluster DNS for cluster.local only; everything else is refused (nothing leaves the netns). */
export function corefile(l: NodeLayout, kubeconfig: string): string {
  return `cluster.local:${PORTS.dns} in-addr.arpa:${PORTS.dns} {
    bind ${l.nodeIp}
    errors
    kubernetes cluster.local in-addr.arpa {
        kubeconfig ${kubeconfig}
        pods insecure
    }
    cache 5
}
.:${PORTS.dns} {
    bind ${l.nodeIp}
    template ANY ANY {
        rcode NXDOMAIN
    }
}
`
}
