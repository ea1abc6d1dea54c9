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
