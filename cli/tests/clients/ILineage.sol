// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// The registry precompile at 0x…4c4e0002 (DatanetRegistry and
/// ModelRegistry). Mirrors `IRegistry` in chain/src/precompile/registry.rs;
/// the client test checks every selector and event topic against the node.
interface IRegistry {
    function registerDatanet(bytes32 root, uint64 contributions, string calldata licence, string calldata metadataUri) external returns (uint256 datanetId);
    function appendContributions(uint256 datanetId, bytes32 newRoot, uint64 newCount) external returns (uint32 version);
    function datanetOf(uint256 datanetId) external view returns (address owner, string memory licence, string memory metadataUri, uint32 versions);
    function versionOf(uint256 datanetId, uint32 version) external view returns (bytes32 root, uint64 contributions, uint64 blockNumber);
    function datanetCount() external view returns (uint256);
    function registerModel(bytes32 commitment, uint256[] calldata datanetIds, uint32[] calldata versions, string calldata metadataUri) external returns (uint256 modelId);
    function modelOf(uint256 modelId) external view returns (
        address owner,
        bytes32 commitment,
        string memory metadataUri,
        uint256[] memory datanetIds,
        uint32[] memory versions
    );
    function modelCount() external view returns (uint256);

    event DatanetRegistered(uint256 indexed datanetId, address indexed owner, bytes32 root, uint64 contributions, string licence, string metadataUri);
    event ContributionsAppended(uint256 indexed datanetId, uint32 indexed version, bytes32 root, uint64 contributions);
    event ModelRegistered(uint256 indexed modelId, address indexed owner, bytes32 indexed commitment, uint256[] datanetIds, uint32[] versions);
}

/// The staking precompile at 0x…4c4e0003 (AgentStaking). Mirrors `IStaking`
/// in chain/src/precompile/staking.rs.
interface IStaking {
    function stake() external payable;
    function unbond(uint256 amount) external;
    function withdraw() external returns (uint256 amount);
    function stakeOf(address agent) external view returns (uint256 free, uint256 locked, uint256 unbonding, uint64 unbondingEnds);
    function totals() external view returns (uint256 bonded, uint256 unbonding, uint256 held);
    function slashCount() external view returns (uint256);
    function slashOf(uint256 slashId) external view returns (
        address agent,
        uint256 requestId,
        uint8 fault,
        uint256 amount,
        address reporter,
        uint256 reward,
        uint256 held,
        uint64 releaseAt,
        uint8 status
    );
    function releaseSlashed(uint256 slashId) external returns (uint256 amount);

    event Staked(address indexed agent, uint256 amount);
    event Unbonding(address indexed agent, uint256 amount, uint256 totalUnbonding, uint64 ends);
    event Withdrawn(address indexed agent, uint256 amount);
    event Locked(address indexed agent, uint256 indexed requestId, uint256 amount);
    event Unlocked(address indexed agent, uint256 indexed requestId, uint256 amount);
    event Slashed(uint256 indexed slashId, address indexed agent, uint256 indexed requestId, uint8 fault, uint256 amount, address reporter, uint256 reward, uint64 releaseAt);
    event SlashReleased(uint256 indexed slashId, address indexed treasury, uint256 amount);
    event SlashReversed(uint256 indexed slashId, address indexed agent, uint256 amount);
}

/// The governance precompile at 0x…4c4e0004. Mirrors `IGovernance` in
/// chain/src/precompile/governance.rs.
interface IGovernance {
    struct ChainParams {
        uint16 contributorsBps;
        uint16 ownerBps;
        uint16 proverBps;
        uint16 protocolBps;
        uint256 acceptStake;
        uint64 challengeWindow;
        uint64 unbondingDelay;
        uint16 reporterBps;
        uint64 slashReleaseDelay;
        uint64 votingPeriod;
        uint16 quorumBps;
        uint256 proposalThreshold;
        address treasury;
    }
    function params() external view returns (ChainParams memory);
    function proposeParam(uint8 param, uint256 value) external returns (uint256 proposalId);
    function proposeSplit(uint16 contributorsBps, uint16 ownerBps, uint16 proverBps, uint16 protocolBps) external returns (uint256 proposalId);
    function proposeKeyAllowed(bytes32 vkHash, bool allowed) external returns (uint256 proposalId);
    function proposeSlashReversal(uint256 slashId) external returns (uint256 proposalId);
    function vote(uint256 proposalId, bool support) external returns (uint256 weight);
    function execute(uint256 proposalId) external returns (bool passed);
    function proposalOf(uint256 proposalId) external view returns (
        uint8 kind,
        uint256 key,
        uint256 value,
        address proposer,
        uint64 votingEnds,
        uint256 yes,
        uint256 no,
        uint256 quorum,
        uint8 status
    );
    function proposalCount() external view returns (uint256);
    function hasVoted(uint256 proposalId, address voter) external view returns (bool);

    event Proposed(uint256 indexed proposalId, address indexed proposer, uint8 kind, uint256 key, uint256 value, uint64 votingEnds, uint256 quorum);
    event Voted(uint256 indexed proposalId, address indexed voter, bool support, uint256 weight);
    event Executed(uint256 indexed proposalId, uint8 kind, uint256 key, uint256 value);
    event Defeated(uint256 indexed proposalId, string reason);
}

/// AttributionSettlement: the request, agent and split functions of the
/// attribution precompile at 0x…4c4e0001 (a subset of `IAttribution` in
/// chain/src/precompile/attribution.rs; the client test checks each
/// selector and topic exists there).
interface IAttributionSettlement {
    function escrowFee(address modelOwner, bytes32 modelCommitment, bytes32 queryCommitment, uint64 deadline) external payable returns (uint256 requestId);
    function escrowFeeFor(address modelOwner, bytes32 modelCommitment, bytes32 queryCommitment, uint64 deadline, address agent) external payable returns (uint256 requestId);
    function escrowQuery(address modelOwner, bytes32 modelCommitment, bytes calldata query, uint64 deadline) external payable returns (uint256 requestId);
    function requestOf(uint256 requestId) external view returns (
        address payer,
        address modelOwner,
        bytes32 modelCommitment,
        bytes32 queryCommitment,
        uint256 fee,
        uint64 deadline,
        uint8 status
    );
    function refund(uint256 requestId) external;
    function acceptRequest(uint256 requestId) external;
    function splitOf(uint256 requestId) external view returns (uint256 contributors, uint256 owner, uint256 prover, uint256 protocol);
    function settlementOf(uint256 requestId) external view returns (
        address agent,
        uint256 stake,
        uint64 provenClass,
        bytes32 payoutDigest,
        uint64 challengeEnds,
        address prover,
        uint8 fault
    );
    function answerHash(uint256 requestId, uint64 predictedClass, bytes32 payoutDigest) external view returns (bytes32);
    function reportAnswer(uint256 requestId, uint64 predictedClass, bytes32 payoutDigest, bytes calldata signature) external returns (uint256 slashId);
    function releaseStake(uint256 requestId) external;

    event RequestOpened(
        uint256 indexed requestId,
        address indexed payer,
        address indexed modelOwner,
        bytes32 modelCommitment,
        bytes32 queryCommitment,
        uint256 fee,
        uint64 deadline
    );
    event Refunded(uint256 indexed requestId, address indexed payer, uint256 fee);
    event RequestAccepted(uint256 indexed requestId, address indexed agent, uint256 stake);
    event FeeSplit(uint256 indexed requestId, uint256 contributors, uint256 owner, uint256 prover, uint256 protocol);
    event QueryPosted(uint256 indexed requestId, bytes query);
}
